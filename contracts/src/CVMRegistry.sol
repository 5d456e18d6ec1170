// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

// cvmwatch devnet CVM registry (UUPS implementation behind contracts/src/ERC1967Proxy.sol).
//
// ABI: generation A1 of Automata's CVMRegistry, byte for byte (attestCvm 0xdf42b054,
// reattestCvmWithTpm 0x60ca2da1, setCollateralTTL 0xf473d8ea, events CVMUpdated(bytes32 indexed)
// and CVMTTLUpdated(bytes32 indexed), the same views). getCvmConfig returns the generation A2
// layout, because the registry implements A2 semantics: the TPM attestation key is stored at
// registration (tpmAk) and re-attestations are checked against the stored key, so the seed's
// re-attestations (empty certs / akPub) are accepted.
//
// What is enforced here, as in the registry:
//  * identity hash = keccak256(be16 sigScheme || be16 curve || be16 hashAlgo || key data);
//  * identity binding: TPM quote extraData bytes [1,33) == identity hash (extraData 33..50 bytes);
//  * re-attestation and TTL changes are signed by the stored identity key over
//      prefix || chain id || address(this) || payload, digest = SHA-256(message)
//    with prefix "CVM_WORKLOAD_REATTEST_TPM" (payload nonce u256 || sha256(tpmQuote)) or
//    "CVM_WORKLOAD_TTL_CONFIG" (payload nonce u256 || teeTTL u64 || tpmTTL u64). The chain id is
//    2 bytes (uint16) or 32 bytes (uint256), fixed per deployment by the constructor argument
//    chainIdWidth; both encodings are needed to accept the seed's vectors. Signatures: ECDSA
//    P-256 through the verifier at tpmAttestation.p256() (anvil's precompile 0x100), or
//    RSASSA-PKCS1-v1_5 SHA-256 through the modexp precompile;
//  * per-identity nonces (post-incremented on every successful signed call; kept under the old
//    hash on rotation);
//  * TTLs (default 30 / 60 days) and freshness views with a strict "<";
//  * rotation on re-attestation: the config moves to the new identity hash, the old one is deleted.
//
// DEVNET ONLY - NOT A SECURE REGISTRY: the workload verifier it calls (DevnetWorkloadVerifier)
// does not check TEE or TPM signatures or certificate chains, and the TPM quote of a
// re-attestation is not checked against the stored attestation key. Forged attestations are
// accepted on purpose; the cvmwatch watchdog is expected to flag them.

import {
    CloudType,
    TEEType,
    TeeReportType,
    Pubkey,
    WorkloadCollaterals,
    Measurement,
    TEEVerifiedData,
    CVMConfig,
    TPM_ALG_SHA256,
    measurementDigest
} from "./CVMTypes.sol";
import {LibSignature} from "./LibSignature.sol";
import {DevnetWorkloadVerifier} from "./DevnetWorkloadVerifier.sol";
import {DevnetTpmAttestation} from "./DevnetTpmAttestation.sol";

interface IERC1822Proxiable {
    function proxiableUUID() external view returns (bytes32);
}

contract CVMRegistry {
    // ---- events (A1 ABI) ------------------------------------------------------------------
    event CVMUpdated(bytes32 indexed cvmIdentityHash);
    event CVMTTLUpdated(bytes32 indexed cvmIdentityHash);
    // ---- upgrade / ownership events (OpenZeppelin v5 shapes) ------------------------------
    event Upgraded(address indexed implementation);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event Initialized(uint64 version);

    // ---- errors ---------------------------------------------------------------------------
    error CVM_NOT_REGISTERED();
    error CVM_IDENTITY_MISMATCH(bytes32 expected, bytes32 actual);
    error INVALID_SIGNATURE();
    error UNSUPPORTED_HASH_ALGORITHM(uint16 hashAlgo);
    error INVALID_TPM_DATA_LENGTH();
    error INVALID_TPM_MEASUREMENT(string reason);
    error OwnableUnauthorizedAccount(address account);
    error OwnableInvalidOwner(address owner);
    error InvalidInitialization();
    error UUPSUnauthorizedCallContext();
    error UUPSUnsupportedProxiableUUID(bytes32 slot);
    error ERC1967InvalidImplementation(address implementation);
    error ERC1967NonPayable();
    error INVALID_CHAIN_ID_WIDTH(uint8 width);

    // ---- constants / immutables -----------------------------------------------------------
    uint8 constant TPM_DATA_MIN_LENGTH = 33;
    uint8 constant TPM_DATA_MAX_LENGTH = 50;
    uint64 internal constant DEFAULT_TEE_TTL = 2_592_000; // 30 days
    uint64 internal constant DEFAULT_TPM_TTL = 5_184_000; // 60 days
    string public constant UPGRADE_INTERFACE_VERSION = "5.0.0";

    bytes32 internal constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;
    // ERC-7201 namespaces used by OpenZeppelin v5 upgradeable contracts.
    bytes32 internal constant OWNABLE_SLOT = 0x9016d09d72d40fdae2fd8ceac6b6234c7706214fd39c1cd1e609a0528c199300;
    bytes32 internal constant INITIALIZABLE_SLOT = 0xf0c57e16840df040f15088dc2f81fe391c3923bec73e23a9662efc9c229c6a00;

    DevnetWorkloadVerifier public immutable workloadVerifier;
    DevnetTpmAttestation public immutable tpmAttestation;
    /// Width in bytes of block.chainid inside signed messages: 2 (uint16) or 32 (uint256).
    uint8 public immutable CHAIN_ID_WIDTH;
    address private immutable self;

    // ---- storage (proxy) ------------------------------------------------------------------
    mapping(bytes32 cvmIdentityHash => CVMConfig) internal _configs; // slot 0
    mapping(bytes32 cvmIdentityHash => uint256) internal _nonces; // slot 1
    uint256[47] private __gap;

    constructor(DevnetWorkloadVerifier verifier, uint8 chainIdWidth) {
        if (chainIdWidth != 2 && chainIdWidth != 32) revert INVALID_CHAIN_ID_WIDTH(chainIdWidth);
        workloadVerifier = verifier;
        tpmAttestation = verifier.tpmAttestation();
        CHAIN_ID_WIDTH = chainIdWidth;
        self = address(this);
        // lock the implementation's own storage against initialisation
        assembly ("memory-safe") {
            sstore(INITIALIZABLE_SLOT, 0xffffffffffffffff)
        }
        emit Initialized(type(uint64).max);
    }

    modifier onlyRegistered(bytes32 h) {
        if (!hasRegistered(h)) revert CVM_NOT_REGISTERED();
        _;
    }

    modifier onlyOwner() {
        if (msg.sender != owner()) revert OwnableUnauthorizedAccount(msg.sender);
        _;
    }

    // ---- initialisation / ownership / upgrades --------------------------------------------

    function initialize(address initialOwner) external {
        uint256 state;
        assembly ("memory-safe") {
            state := sload(INITIALIZABLE_SLOT)
        }
        if (state != 0) revert InvalidInitialization();
        assembly ("memory-safe") {
            sstore(INITIALIZABLE_SLOT, 1)
        }
        if (initialOwner == address(0)) revert OwnableInvalidOwner(address(0));
        _setOwner(initialOwner);
        emit Initialized(1);
    }

    function owner() public view returns (address o) {
        assembly ("memory-safe") {
            o := sload(OWNABLE_SLOT)
        }
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert OwnableInvalidOwner(address(0));
        _setOwner(newOwner);
    }

    function renounceOwnership() external onlyOwner {
        _setOwner(address(0));
    }

    function _setOwner(address newOwner) private {
        address old = owner();
        assembly ("memory-safe") {
            sstore(OWNABLE_SLOT, newOwner)
        }
        emit OwnershipTransferred(old, newOwner);
    }

    /// ERC-1822: only answered by the implementation itself, never through a proxy.
    function proxiableUUID() external view returns (bytes32) {
        if (address(this) != self) revert UUPSUnauthorizedCallContext();
        return IMPLEMENTATION_SLOT;
    }

    function upgradeToAndCall(address newImplementation, bytes calldata data) external payable onlyOwner {
        address current;
        assembly ("memory-safe") {
            current := sload(IMPLEMENTATION_SLOT)
        }
        if (address(this) == self || current != self) revert UUPSUnauthorizedCallContext();
        require(newImplementation != address(0), "Invalid implementation address");
        try IERC1822Proxiable(newImplementation).proxiableUUID() returns (bytes32 slot) {
            if (slot != IMPLEMENTATION_SLOT) revert UUPSUnsupportedProxiableUUID(slot);
        } catch {
            revert ERC1967InvalidImplementation(newImplementation);
        }
        assembly ("memory-safe") {
            sstore(IMPLEMENTATION_SLOT, newImplementation)
        }
        emit Upgraded(newImplementation);
        if (data.length > 0) {
            (bool ok, bytes memory ret) = newImplementation.delegatecall(data);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(ret, 0x20), mload(ret))
                }
            }
        } else if (msg.value > 0) {
            revert ERC1967NonPayable();
        }
    }

    // ---- registry entry points ------------------------------------------------------------

    function attestCvm(
        CloudType cloudType,
        TEEType teeType,
        TeeReportType teeReportType,
        bytes calldata teeAttestationReport,
        WorkloadCollaterals calldata wc
    ) external returns (Measurement memory measurement) {
        bytes32 h = _identityHash(wc.cvmIdentity.sigScheme, wc.cvmIdentity.curve, wc.cvmIdentity.hashAlgo, wc.cvmIdentity.data);
        CVMConfig storage config = _configs[h];
        if (!hasRegistered(h)) {
            // first registration: types from the arguments, default TTLs
            config.teeType = teeType;
            config.cloudType = cloudType;
            config.teeTTL = DEFAULT_TEE_TTL;
            config.tpmTTL = DEFAULT_TPM_TTL;
        }
        (bytes memory teeOutput, TEEVerifiedData memory data, bytes memory extraData) =
            workloadVerifier.verifyAttestation(config.teeType, teeReportType, config.cloudType, teeAttestationReport, wc);

        bytes32 bound = _identityFromTpmData(extraData);
        if (bound != h) revert CVM_IDENTITY_MISMATCH(h, bound);

        measurement = workloadVerifier.getMeasurement(data, wc.pcrs);
        uint64 nowTs = uint64(block.timestamp);
        config.teeAttestationOutput = teeOutput;
        _storeIdentity(config, wc.cvmIdentity);
        config.tpmAk = data.akPub;
        config.teeRecentTimestamp = nowTs;
        config.tpmRecentTimestamp = nowTs;
        config.measurementHash = measurementDigest(measurement);
        emit CVMUpdated(h);
    }

    function reattestCvmWithTpm(bytes32 cvmIdentityHash, bytes calldata signature, WorkloadCollaterals calldata wc)
        external
        onlyRegistered(cvmIdentityHash)
        returns (Measurement memory measurement)
    {
        CVMConfig storage config = _configs[cvmIdentityHash];
        _checkSigned(
            config.cvmIdentity,
            "CVM_WORKLOAD_REATTEST_TPM",
            abi.encodePacked(_nonces[cvmIdentityHash]++, sha256(wc.tpmQuote)),
            signature
        );
        // The quote signature would be checked against config.tpmAk here; the devnet skips it.
        (bool checked, bytes memory extraData) = tpmAttestation.checkPcrMeasurements(wc.tpmQuote, wc.pcrs);
        if (!checked) revert INVALID_TPM_MEASUREMENT(string(extraData));

        TEEVerifiedData memory data = workloadVerifier.parseTeeOutput(config.teeType, config.teeAttestationOutput);
        measurement = workloadVerifier.getMeasurement(data, wc.pcrs);
        bytes32 digest = measurementDigest(measurement);

        bytes32 newHash = _identityHash(wc.cvmIdentity.sigScheme, wc.cvmIdentity.curve, wc.cvmIdentity.hashAlgo, wc.cvmIdentity.data);
        if (newHash != cvmIdentityHash) {
            bytes32 bound = _identityFromTpmData(extraData);
            if (bound != newHash) revert CVM_IDENTITY_MISMATCH(bound, newHash);
            _rotate(cvmIdentityHash, newHash, wc, digest);
            emit CVMUpdated(newHash);
        } else {
            config.measurementHash = digest;
            config.tpmRecentTimestamp = uint64(block.timestamp);
            emit CVMUpdated(cvmIdentityHash);
        }
    }

    function setCollateralTTL(bytes32 cvmIdentityHash, uint64 teeTTL, uint64 tpmTTL, bytes calldata signature)
        external
        onlyRegistered(cvmIdentityHash)
    {
        CVMConfig storage config = _configs[cvmIdentityHash];
        _checkSigned(
            config.cvmIdentity,
            "CVM_WORKLOAD_TTL_CONFIG",
            abi.encodePacked(_nonces[cvmIdentityHash]++, teeTTL, tpmTTL),
            signature
        );
        config.teeTTL = teeTTL;
        config.tpmTTL = tpmTTL;
        emit CVMTTLUpdated(cvmIdentityHash);
    }

    // ---- views ----------------------------------------------------------------------------

    function hasRegistered(bytes32 cvmIdentityHash) public view returns (bool) {
        return _configs[cvmIdentityHash].cloudType != CloudType.Unset;
    }

    function nonces(bytes32 cvmIdentityHash) external view onlyRegistered(cvmIdentityHash) returns (uint256) {
        return _nonces[cvmIdentityHash];
    }

    function checkTEEValidity(bytes32 cvmIdentityHash) external view onlyRegistered(cvmIdentityHash) returns (bool) {
        CVMConfig storage c = _configs[cvmIdentityHash];
        return (block.timestamp - c.teeRecentTimestamp) < c.teeTTL;
    }

    function checkTPMValidity(bytes32 cvmIdentityHash) external view onlyRegistered(cvmIdentityHash) returns (bool) {
        CVMConfig storage c = _configs[cvmIdentityHash];
        return (block.timestamp - c.tpmRecentTimestamp) < c.tpmTTL;
    }

    function getMeasurementHash(bytes32 cvmIdentityHash)
        external
        view
        onlyRegistered(cvmIdentityHash)
        returns (bytes32)
    {
        return _configs[cvmIdentityHash].measurementHash;
    }

    function getCvmIdentity(bytes32 cvmIdentityHash)
        external
        view
        onlyRegistered(cvmIdentityHash)
        returns (Pubkey memory)
    {
        return _configs[cvmIdentityHash].cvmIdentity;
    }

    function getCvmConfig(bytes32 cvmIdentityHash)
        external
        view
        onlyRegistered(cvmIdentityHash)
        returns (CVMConfig memory)
    {
        return _configs[cvmIdentityHash];
    }

    // ---- internals ------------------------------------------------------------------------

    function _identityHash(uint16 sigScheme, uint16 curve, uint16 hashAlgo, bytes calldata data)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encodePacked(sigScheme, curve, hashAlgo, data));
    }

    /// extraData = magic (1 byte) || identity hash (32) || optional nonce; 33..50 bytes.
    function _identityFromTpmData(bytes memory extraData) private pure returns (bytes32 h) {
        if (extraData.length < TPM_DATA_MIN_LENGTH || extraData.length > TPM_DATA_MAX_LENGTH) {
            revert INVALID_TPM_DATA_LENGTH();
        }
        assembly ("memory-safe") {
            h := mload(add(extraData, 0x21))
        }
    }

    function _storeIdentity(CVMConfig storage config, Pubkey calldata id) private {
        config.cvmIdentity.sigScheme = id.sigScheme;
        config.cvmIdentity.curve = id.curve;
        config.cvmIdentity.hashAlgo = id.hashAlgo;
        config.cvmIdentity.data = id.data;
    }

    function _chainId() private view returns (bytes memory) {
        if (CHAIN_ID_WIDTH == 2) return abi.encodePacked(uint16(block.chainid));
        return abi.encodePacked(block.chainid);
    }

    function _checkSigned(Pubkey storage id, string memory prefix, bytes memory payload, bytes calldata signature)
        private
        view
    {
        Pubkey memory key = id;
        if (key.hashAlgo != TPM_ALG_SHA256) revert UNSUPPORTED_HASH_ALGORITHM(key.hashAlgo);
        bytes memory message = abi.encodePacked(prefix, _chainId(), address(this), payload);
        if (!LibSignature.verify(key, sha256(message), signature, tpmAttestation.p256())) {
            revert INVALID_SIGNATURE();
        }
    }

    function _rotate(bytes32 oldHash, bytes32 newHash, WorkloadCollaterals calldata wc, bytes32 digest) private {
        CVMConfig storage o = _configs[oldHash];
        CVMConfig storage n = _configs[newHash];
        n.teeType = o.teeType;
        n.cloudType = o.cloudType;
        n.teeTTL = o.teeTTL;
        n.tpmTTL = o.tpmTTL;
        n.teeRecentTimestamp = o.teeRecentTimestamp;
        n.teeAttestationOutput = o.teeAttestationOutput;
        n.tpmAk = o.tpmAk;
        _storeIdentity(n, wc.cvmIdentity);
        n.tpmRecentTimestamp = uint64(block.timestamp);
        n.measurementHash = digest;
        delete _configs[oldHash];
    }
}
