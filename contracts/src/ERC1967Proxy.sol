// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// Minimal ERC-1967 proxy: the implementation address lives in slot
/// bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1); every call is delegated to it.
/// Upgrades are done by the implementation itself (UUPS, upgradeToAndCall). The constructor
/// emits Upgraded(implementation) and runs the optional initialisation call.
contract ERC1967Proxy {
    bytes32 internal constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;

    event Upgraded(address indexed implementation);

    error ERC1967InvalidImplementation(address implementation);
    error ERC1967NonPayable();

    constructor(address implementation, bytes memory data) payable {
        if (implementation.code.length == 0) revert ERC1967InvalidImplementation(implementation);
        assembly ("memory-safe") {
            sstore(IMPLEMENTATION_SLOT, implementation)
        }
        emit Upgraded(implementation);
        if (data.length > 0) {
            (bool ok, bytes memory ret) = implementation.delegatecall(data);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(ret, 0x20), mload(ret))
                }
            }
        } else if (msg.value > 0) {
            revert ERC1967NonPayable();
        }
    }

    fallback() external payable {
        assembly {
            let impl := sload(IMPLEMENTATION_SLOT)
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), impl, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            switch ok
            case 0 { revert(0, returndatasize()) }
            default { return(0, returndatasize()) }
        }
    }
}
