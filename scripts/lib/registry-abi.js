'use strict';
// Type strings, signatures and constants of the CVM registry, generation A1 ABI
// (see /work/shared/specs/contracts.md sections 1.3-1.6 and 3.2).
const abi = require('./abi');

const PCR = '(uint256,bytes32,bytes32[],uint256[],bool)';
const PUBKEY = '(uint16,uint16,uint16,bytes)';
const WC = `(bytes,bytes,${PCR}[],bytes,bytes,bytes[],${PUBKEY})`;
// getCvmConfig return layout: generation A2 (teeAttestationOutput before cvmIdentity and tpmAk).
const CVM_CONFIG = `(uint8,uint8,uint64,uint64,uint64,uint64,bytes32,bytes,${PUBKEY},${PUBKEY})`;
const MEASUREMENT =
  '((uint256,bytes32,bytes32[],uint256[])[],((bytes32,bytes16),(bytes32,bytes16),(bytes32,bytes16),' +
  '(bytes32,bytes16),(bytes32,bytes16),(bytes32,bytes16)),((bytes32,bytes16)))';

const SIG = {
  attestCvm: `attestCvm(uint8,uint8,uint8,bytes,${WC})`,
  reattestCvmWithTpm: `reattestCvmWithTpm(bytes32,bytes,${WC})`,
  setCollateralTTL: 'setCollateralTTL(bytes32,uint64,uint64,bytes)',
  upgradeToAndCall: 'upgradeToAndCall(address,bytes)',
  initialize: 'initialize(address)',
  hasRegistered: 'hasRegistered(bytes32)',
  nonces: 'nonces(bytes32)',
  checkTEEValidity: 'checkTEEValidity(bytes32)',
  checkTPMValidity: 'checkTPMValidity(bytes32)',
  getMeasurementHash: 'getMeasurementHash(bytes32)',
  getCvmIdentity: 'getCvmIdentity(bytes32)',
  getCvmConfig: 'getCvmConfig(bytes32)',
  owner: 'owner()',
  workloadVerifier: 'workloadVerifier()',
  tpmAttestation: 'tpmAttestation()',
  chainIdWidth: 'CHAIN_ID_WIDTH()',
};

const SELECTOR = Object.fromEntries(Object.entries(SIG).map(([k, s]) => [k, abi.hex(abi.selector(s))]));

const EVENT = {
  CVMUpdated: abi.hex(abi.keccak256(Buffer.from('CVMUpdated(bytes32)'))),
  CVMTTLUpdated: abi.hex(abi.keccak256(Buffer.from('CVMTTLUpdated(bytes32)'))),
  Upgraded: abi.hex(abi.keccak256(Buffer.from('Upgraded(address)'))),
  OwnershipTransferred: abi.hex(abi.keccak256(Buffer.from('OwnershipTransferred(address,address)'))),
  Initialized: abi.hex(abi.keccak256(Buffer.from('Initialized(uint64)'))),
  TpmMeasurementChecked: abi.hex(abi.keccak256(Buffer.from('TpmMeasurementChecked(bytes32,bytes32,bytes)'))),
};

const ERROR = {
  '0x75a1d53a': 'CVM_NOT_REGISTERED()',
  '0xca6c9eb5': 'CVM_IDENTITY_MISMATCH(bytes32,bytes32)',
  '0xa3402a38': 'INVALID_SIGNATURE()',
  '0x4fed17f6': 'UNSUPPORTED_HASH_ALGORITHM(uint16)',
  '0x322dbc63': 'INVALID_TPM_DATA_LENGTH()',
  '0x0e847c98': 'INVALID_TPM_QUOTE(string)',
  '0x1600a833': 'INVALID_TPM_MEASUREMENT(string)',
  '0x118cdaa7': 'OwnableUnauthorizedAccount(address)',
  '0xf92ee8a9': 'InvalidInitialization()',
  '0xe07c8dba': 'UUPSUnauthorizedCallContext()',
  '0xaa1d49a4': 'UUPSUnsupportedProxiableUUID(bytes32)',
  '0x4c9c8ce3': 'ERC1967InvalidImplementation(address)',
  '0xddf0d9a4': 'INVALID_TEE_REPORT_TYPE(uint8)',
  '0x4536070c': 'INVALID_TEE_TYPE(uint8)',
  '0x0ccce91b': 'INVALID_CLOUD_TYPE(uint8)',
  '0x8512b796': 'FAILED_TO_VERIFY_TEE()',
  '0x2a2eafda': 'INVALID_TEE_REPORT()',
  '0x0a6fdd83': 'TEE_REPORT_DATA_MISMATCH(bytes32,bytes32)',
  '0x70c6a010': 'FAILED_TO_VERIFY_TPM_QUOTE(string)',
  '0xc5ee0cd0': 'FAILED_TO_CHECK_PCR_MEASUREMENTS(string)',
  '0x08c379a0': 'Error(string)',
  '0x4e487b71': 'Panic(uint256)',
};

const CLOUD = { 0: 'Unset', 1: 'GCP', 2: 'Azure' };
const TEE = { 0: 'Mock', 1: 'TDX', 2: 'SNP' };

// Identity hash, A form: keccak256(be16 sigScheme || be16 curve || be16 hashAlgo || data).
function identityHash(pubkey) {
  const [scheme, curve, hashAlgo, data] = pubkey;
  const pre = Buffer.alloc(6);
  pre.writeUInt16BE(Number(scheme), 0);
  pre.writeUInt16BE(Number(curve), 2);
  pre.writeUInt16BE(Number(hashAlgo), 4);
  return abi.keccak256(Buffer.concat([pre, Buffer.from(data)]));
}

function decodeCall(calldata) {
  const buf = abi.unhex(calldata);
  const sel = abi.hex(buf.subarray(0, 4));
  const body = buf.subarray(4);
  if (sel === SELECTOR.attestCvm) {
    const [cloudType, teeType, teeReportType, report, wc] = abi.decode(['uint8', 'uint8', 'uint8', 'bytes', WC], body);
    return { fn: 'attestCvm', cloudType, teeType, teeReportType, report, wc };
  }
  if (sel === SELECTOR.reattestCvmWithTpm) {
    const [identity, signature, wc] = abi.decode(['bytes32', 'bytes', WC], body);
    return { fn: 'reattestCvmWithTpm', identity, signature, wc };
  }
  if (sel === SELECTOR.setCollateralTTL) {
    const [identity, teeTTL, tpmTTL, signature] = abi.decode(['bytes32', 'uint64', 'uint64', 'bytes'], body);
    return { fn: 'setCollateralTTL', identity, teeTTL, tpmTTL, signature };
  }
  throw new Error(`unknown registry selector ${sel}`);
}

function encodeAttest(cloudType, teeType, teeReportType, report, wc) {
  return abi.encodeCall(SIG.attestCvm, [cloudType, teeType, teeReportType, report, wc]);
}

function encodeReattest(identity, signature, wc) {
  return abi.encodeCall(SIG.reattestCvmWithTpm, [identity, signature, wc]);
}

function encodeSetTTL(identity, teeTTL, tpmTTL, signature) {
  return abi.encodeCall(SIG.setCollateralTTL, [identity, teeTTL, tpmTTL, signature]);
}

// TPMS_ATTEST (quote) parsing: returns extraData and selection / digest.
function parseQuote(quote) {
  const q = Buffer.from(quote);
  const Q = q.readUInt16BE(6);
  const E = q.readUInt16BE(8 + Q);
  const extraData = q.subarray(10 + Q, 10 + Q + E);
  const selOff = 35 + Q + E;
  const S = q[selOff + 6];
  const select = q.subarray(selOff + 7, selOff + 7 + S);
  const digestOff = selOff + 7 + S + 2;
  return { extraData, extraDataOffset: 10 + Q, select, pcrDigest: q.subarray(digestOff, digestOff + 32), pcrDigestOffset: digestOff };
}

function decodeRevert(data) {
  const b = abi.unhex(data || '0x');
  if (b.length < 4) return b.length ? abi.hex(b) : '(empty revert)';
  const sel = abi.hex(b.subarray(0, 4));
  const name = ERROR[sel];
  if (!name) return `${sel} (unknown error)`;
  if (name === 'Error(string)') {
    try {
      return `Error("${abi.decode(['string'], b.subarray(4))[0]}")`;
    } catch (_) {
      return name;
    }
  }
  return `${name.replace(/\(.*$/, '')} ${sel}`;
}

module.exports = {
  PCR, PUBKEY, WC, CVM_CONFIG, MEASUREMENT, SIG, SELECTOR, EVENT, ERROR, CLOUD, TEE,
  identityHash, decodeCall, encodeAttest, encodeReattest, encodeSetTTL, parseQuote, decodeRevert,
};
