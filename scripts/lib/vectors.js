'use strict';
// The seed's recorded registry calls (shared/testdata/seed) and the replay plan built from them.
const fs = require('fs');
const path = require('path');
const abi = require('./abi');
const reg = require('./registry-abi');
const { ROOT } = require('./anvil');

function testdataDir() {
  return process.env.CVMWATCH_TESTDATA
    ? path.resolve(process.env.CVMWATCH_TESTDATA)
    : path.resolve(ROOT, '..', 'shared', 'testdata');
}

function seedDir() {
  return path.join(testdataDir(), 'seed');
}

function haveSeed() {
  return fs.existsSync(path.join(seedDir(), 'gcp', 'tdx', 'gcp-tdx-registration.json'));
}

function loadCalldata(rel) {
  const file = path.join(seedDir(), rel);
  let j;
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read seed vector ${file}: ${e.message}`);
  }
  if (typeof j.calldata !== 'string') throw new Error(`${file}: no "calldata" string`);
  return Buffer.from(j.calldata, 'base64');
}

// Golden measurement files hold the 32-byte hash as base64 or hex.
function loadGolden(rel) {
  const file = path.join(seedDir(), rel);
  const j = JSON.parse(fs.readFileSync(file, 'utf8'));
  const v = String(j.golden_measurement || '').trim();
  let b;
  if (/^(0x)?[0-9a-fA-F]{64}$/.test(v)) b = Buffer.from(v.replace(/^0x/, ''), 'hex');
  else b = Buffer.from(v, 'base64');
  if (b.length !== 32) throw new Error(`${file}: golden_measurement is not a 32-byte hash`);
  return abi.hex(b);
}

const PLATFORMS = {
  'gcp-snp': {
    dir: 'gcp/snp',
    registration: 'gcp/snp/gcp-snp-registration.json',
    reattestation: 'gcp/snp/gcp-snp-reattestation.json',
    ttl: 'gcp/snp/gcp-snp-update-ttl.json',
    golden: 'gcp/snp/gcp-snp-test-golden_measurements.json',
  },
  'gcp-tdx': {
    dir: 'gcp/tdx',
    registration: 'gcp/tdx/gcp-tdx-registration.json',
    reattestation: 'gcp/tdx/gcp-tdx-reattestation.json',
    ttl: 'gcp/tdx/gcp-tdx-update-ttl.json',
    golden: 'gcp/tdx/gcp-tdx-test-golden_measurements.json',
  },
  'azure-snp': {
    dir: 'azure/snp',
    registration: 'azure/snp/azure-snp-registration.json',
    reattestation: 'azure/snp/azure-snp-reattestation.json',
    golden: 'azure/snp/azure-snp-test-golden_measurements.json',
  },
};

// Re-encodes an attestCvm call after `mutate(decoded)` changed it.
function mutateRegistration(calldata, mutate) {
  const d = reg.decodeCall(calldata);
  mutate(d);
  return reg.encodeAttest(d.cloudType, d.teeType, d.teeReportType, d.report, d.wc);
}

function flipByte(buf, off, what) {
  if (off < 0 || off >= buf.length) throw new Error(`cannot flip byte ${off} of ${what} (${buf.length} bytes)`);
  const b = Buffer.from(buf);
  b[off] ^= 0x01;
  return b;
}

// Forged variants: each re-submits a real registration with one byte flipped in a region the
// devnet does not check; each targets the identity a real re-attestation rotated away, so it
// "resurrects" a retired identity with evidence that no longer verifies.
function forgedVariants() {
  return [
    {
      label: 'forged-tpm-signature',
      platform: 'azure-snp',
      description:
        'Azure SNP registration with one flipped byte inside the RSASSA value of wc.tpmSignature ' +
        '(TPMT_SIGNATURE byte 6+128): the TPM quote signature no longer verifies with the HCL AK.',
      mutate: (d) => {
        d.wc[1] = flipByte(d.wc[1], 6 + 128, 'tpmSignature');
      },
    },
    {
      label: 'forged-tee-signature',
      platform: 'gcp-tdx',
      description:
        'GCP TDX registration with one flipped byte inside the quote signature (TDX quote byte 640, ' +
        'ECDSA r of the attestation key, calldata byte 836): the DCAP quote signature no longer verifies.',
      mutate: (d) => {
        d.report = flipByte(d.report, 636 + 4, 'TDX quote');
      },
    },
    {
      label: 'forged-ak-certificate',
      platform: 'gcp-snp',
      description:
        'GCP SNP registration with one flipped byte in the signature of the AK leaf certificate ' +
        '(wc.certs[0], 16 bytes before its end): the Google EK/AK CA chain no longer verifies.',
      mutate: (d) => {
        d.wc[5][0] = flipByte(d.wc[5][0], d.wc[5][0].length - 16, 'certs[0]');
      },
    },
  ];
}

// Identity hashes computed from the calldata (never taken from a table).
function identityOf(calldata) {
  const d = reg.decodeCall(calldata);
  if (d.fn === 'attestCvm' || d.fn === 'reattestCvmWithTpm') {
    return { identity: abi.hex(reg.identityHash(d.wc[6])), argIdentity: d.identity ? abi.hex(d.identity) : null };
  }
  return { identity: abi.hex(d.identity), argIdentity: abi.hex(d.identity) };
}

module.exports = {
  testdataDir, seedDir, haveSeed, loadCalldata, loadGolden, PLATFORMS, mutateRegistration, forgedVariants, identityOf,
};
