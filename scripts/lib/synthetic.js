'use strict';
// Synthetic CVM traffic for load tests: registrations, re-attestations (with and without key
// rotation) and TTL updates built from test keys generated here. Everything a devnet registry
// checks is consistent (identity binding in the quote's extraData, PCR digest, report-ID binding
// through PCR15, Azure REPORTDATA = SHA-256(runtime JSON), maintenance signatures by the identity
// key), and the TPM quotes are really signed by the synthetic AK. The TEE reports carry no valid
// vendor signature and the AK certificates are self-signed, so a real verifier rejects them.
const crypto = require('crypto');
const abi = require('./abi');
const reg = require('./registry-abi');

const sha256 = (b) => crypto.createHash('sha256').update(b).digest();
const sha384 = (b) => crypto.createHash('sha384').update(b).digest();
const be = (v, n) => {
  const b = Buffer.alloc(n);
  let x = BigInt(v);
  for (let i = n - 1; i >= 0; i--) {
    b[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return b;
};
const u16 = (v) => be(v, 2);
const u32le = (v) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const b64url = (b) => b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const seeded = (...parts) => sha256(Buffer.from(['cvmwatch-synthetic', ...parts].join('/')));

// ---- keys ---------------------------------------------------------------------------------

const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

function p256Key(label) {
  // deterministic private key from the label (rejection sampling keeps it in [1, n-1])
  let d;
  for (let i = 0; ; i++) {
    d = seeded('p256', label, String(i));
    const v = BigInt(abi.hex(d));
    if (v > 0n && v < P256_N) break;
  }
  const ecdh = crypto.createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const pub = ecdh.getPublicKey(); // 04 || X || Y
  const x = pub.subarray(1, 33);
  const y = pub.subarray(33, 65);
  const privateKey = crypto.createPrivateKey({
    key: { kty: 'EC', crv: 'P-256', d: b64url(d), x: b64url(x), y: b64url(y) },
    format: 'jwk',
  });
  return {
    kind: 'p256',
    privateKey,
    publicKey: crypto.createPublicKey(privateKey),
    xy: Buffer.concat([x, y]),
    pubkey: [0x0018n, 0x0003n, 0x000bn, Buffer.concat([x, y])],
  };
}

function rsaKey() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 });
  const der = publicKey.export({ type: 'pkcs1', format: 'der' });
  const jwk = publicKey.export({ format: 'jwk' });
  return { kind: 'rsa', privateKey, publicKey, der, jwk, pubkey: [0x0014n, 0n, 0x000bn, der] };
}

function signRaw(key, message) {
  if (key.kind === 'p256') {
    return crypto.sign('sha256', message, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  }
  return crypto.sign('sha256', message, { key: key.privateKey, padding: crypto.constants.RSA_PKCS1_PADDING });
}

// ---- DER (self-signed AK certificate) -------------------------------------------------------

function derLen(n) {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  return Buffer.from([0x82, n >> 8, n & 0xff]);
}
const tlv = (tag, body) => Buffer.concat([Buffer.from([tag]), derLen(body.length), body]);
const seq = (...items) => tlv(0x30, Buffer.concat(items));
const oid = (hexBody) => tlv(0x06, Buffer.from(hexBody, 'hex'));
const utf8 = (s) => tlv(0x0c, Buffer.from(s, 'utf8'));
const name = (cn) => seq(tlv(0x31, seq(oid('550403'), utf8(cn))));
const utcTime = (s) => tlv(0x17, Buffer.from(s, 'ascii'));

function selfSignedCert(ak, cn, serialSeed) {
  const ecdsaWithSha256 = seq(oid('2a8648ce3d040302'));
  const serial = Buffer.concat([Buffer.from([0x01]), seeded('serial', serialSeed).subarray(0, 15)]);
  const spki = ak.publicKey.export({ type: 'spki', format: 'der' });
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([0x02]))),
    tlv(0x02, serial),
    ecdsaWithSha256,
    name(cn),
    seq(utcTime('250801000000Z'), utcTime('350801000000Z')),
    name(cn),
    spki,
  );
  const sig = crypto.sign('sha256', tbs, ak.privateKey); // DER ECDSA-Sig-Value
  return seq(tbs, ecdsaWithSha256, tlv(0x03, Buffer.concat([Buffer.from([0]), sig])));
}

// ---- TPM quote --------------------------------------------------------------------------------

function selectBitmap(indexes) {
  const b = Buffer.alloc(3);
  for (const i of indexes) b[i >> 3] |= 1 << (i & 7);
  return b;
}

function buildQuote(akName, extraData, pcrs, clock) {
  const values = Buffer.concat(pcrs.map((p) => p[1]));
  return Buffer.concat([
    Buffer.from('ff544347', 'hex'),
    u16(0x8018),
    u16(34), u16(0x000b), akName,
    u16(extraData.length), extraData,
    be(clock, 8), be(7, 4), be(0, 4), Buffer.from([1]),
    Buffer.from('2016051100162800', 'hex'),
    be(1, 4), u16(0x000b), Buffer.from([3]), selectBitmap(pcrs.map((p) => Number(p[0]))),
    u16(32), sha256(values),
  ]);
}

function tpmSignature(ak, quote) {
  if (ak.kind === 'p256') {
    const rs = crypto.sign('sha256', quote, { key: ak.privateKey, dsaEncoding: 'ieee-p1363' });
    return Buffer.concat([u16(0x0018), u16(0x000b), u16(32), rs.subarray(0, 32), u16(32), rs.subarray(32)]);
  }
  const s = crypto.sign('sha256', quote, { key: ak.privateKey, padding: crypto.constants.RSA_PKCS1_PADDING });
  return Buffer.concat([u16(0x0014), u16(0x000b), u16(s.length), s]);
}

// ---- TEE reports ------------------------------------------------------------------------------

function tdxQuote(k, rtmr3) {
  const header = Buffer.concat([
    Buffer.from([4, 0, 2, 0, 0x81, 0, 0, 0]), Buffer.alloc(4),
    Buffer.from('939a7233f79c4ca9940a0db3957f0607', 'hex'), Buffer.alloc(20),
  ]);
  const reg48 = (what) => Buffer.concat([seeded('tdx', what, String(k % 3)), seeded('tdx2', what, String(k % 3))]).subarray(0, 48);
  const body = Buffer.concat([
    Buffer.from('08010800000000000000000000000000', 'hex'), // TEE_TCB_SVN
    reg48('mrseam'), Buffer.alloc(48), Buffer.alloc(8), Buffer.from('0000001000000000', 'hex'),
    Buffer.from('e700060000000000', 'hex'), reg48('mrtd'), Buffer.alloc(48 * 3),
    reg48('rtmr0'), reg48('rtmr1'), reg48('rtmr2'), rtmr3, Buffer.alloc(64),
  ]);
  if (header.length !== 48 || body.length !== 584) throw new Error('synthetic TDX quote layout');
  // signature data: L, then a (not valid) quote signature and attestation key
  return Buffer.concat([header, body, u32le(128), Buffer.alloc(128, 0x5a)]);
}

function snpReport(k, reportData, reportId) {
  const r = Buffer.alloc(1184);
  r.writeUInt32LE(3, 0x00); // VERSION
  r.writeUInt32LE(0x30000, 0x08); // POLICY
  r.writeUInt32LE(1, 0x34); // SIGNATURE_ALGO
  reportData.copy(r, 0x50);
  Buffer.concat([seeded('snp-measurement', String(k % 3)), seeded('snp-measurement2', String(k % 3))]).copy(r, 0x90, 0, 48);
  reportId.copy(r, 0x140);
  Buffer.alloc(32, 0xff).copy(r, 0x160);
  Buffer.alloc(72, 0x33).copy(r, 0x2a0); // (not valid) signature R
  Buffer.alloc(72, 0x44).copy(r, 0x2e8); // (not valid) signature S
  return r;
}

function snpZkReport(k, reportData, reportId, timestamp) {
  const journal = abi.encode(['(uint8,uint64,uint8,bytes,bytes32[],uint160[],uint8)'], [[
    0n, BigInt(timestamp), 0n, snpReport(k, reportData, reportId),
    [seeded('ark'), seeded('ask'), seeded('vcek', String(k))], [0x10000n, 0x10001n, 0n], 2n,
  ]]);
  const seal = Buffer.concat([Buffer.from('bb001d44', 'hex'), Buffer.alloc(256, 0x11)]);
  return abi.encode(['(bytes,bytes)'], [[journal, seal]]);
}

// ---- CVM model ----------------------------------------------------------------------------------

const PROFILES = [
  { cloud: 1n, tee: 1n, reportType: 1n, name: 'gcp-tdx' },
  { cloud: 1n, tee: 2n, reportType: 3n, name: 'gcp-snp' },
  { cloud: 1n, tee: 1n, reportType: 1n, name: 'gcp-tdx' },
  { cloud: 2n, tee: 2n, reportType: 3n, name: 'azure-snp' },
];

class SyntheticFleet {
  constructor({ registry, chainIdWidth, chainId = 31337, runTag = 'default' }) {
    this.registry = abi.unhex(registry);
    this.chainIdWidth = chainIdWidth;
    this.chainId = chainId;
    this.runTag = runTag;
    this.cvms = [];
    this.azureAk = null;
  }

  chainIdBytes() {
    return be(this.chainId, this.chainIdWidth);
  }

  signedMessage(prefix, payload) {
    return Buffer.concat([Buffer.from(prefix, 'ascii'), this.chainIdBytes(), this.registry, payload]);
  }

  newIdentity(k, generation) {
    // every 8th CVM (k % 8 == 5) uses an RSA identity to exercise the PKCS#1 path
    if (k % 8 === 5 && generation === 0) return rsaKey();
    return p256Key(`${this.runTag}/identity/${k}/${generation}`);
  }

  createCvm(k) {
    const profile = PROFILES[k % PROFILES.length];
    const identity = this.newIdentity(k, 0);
    let ak;
    let akJson = null;
    if (profile.cloud === 2n) {
      if (!this.azureAk) this.azureAk = rsaKey();
      ak = this.azureAk;
      akJson = Buffer.from(JSON.stringify({
        keys: [{ kid: 'HCLAkPub', key_ops: ['sign'], kty: 'RSA', e: ak.jwk.e, n: ak.jwk.n }],
        'vm-configuration': { 'secure-boot': true, 'tpm-enabled': true, vmUniqueId: `synthetic-${this.runTag}-${k}` },
        'user-data': '0'.repeat(128),
      }));
    } else {
      ak = p256Key(`${this.runTag}/ak/${k}`);
    }
    const cvm = {
      k,
      profile,
      identity,
      ak,
      akJson,
      akName: sha256(Buffer.from(`ak-name/${this.runTag}/${k}`)),
      uuid: seeded('uuid', this.runTag, String(k)).subarray(0, 16),
      reportId: seeded('report-id', this.runTag, String(k)),
      nonce: 0n,
      generation: 0,
      clock: 100000 + k * 1000,
      pcrs: null,
    };
    cvm.pcrs = this.pcrList(cvm);
    this.cvms.push(cvm);
    return cvm;
  }

  pcrList(cvm) {
    const { profile } = cvm;
    const idx = profile.cloud === 2n ? [0, 4, 5, 7, 9, 11, 15, 16, 23] : [0, 1, 2, 4, 7, 9, 11, 15, 16, 23];
    const ext = (x) => sha256(Buffer.concat([Buffer.alloc(32), x]));
    return idx.map((i) => {
      if (i === 15) {
        let v = Buffer.alloc(32);
        if (profile.cloud === 1n) v = profile.tee === 1n ? ext(sha256(cvm.uuid)) : ext(cvm.reportId);
        return [BigInt(i), v, [], [], false];
      }
      if (i === 1) {
        const events = [0, 1, 2, 3].map((e) => seeded('pcr1-event', String(e), String(cvm.k % 2)));
        let acc = Buffer.alloc(32);
        for (const e of events) acc = sha256(Buffer.concat([acc, e]));
        return [1n, acc, events, [2n, 3n], false];
      }
      return [BigInt(i), seeded('pcr', String(i), String(cvm.k % 3)), [], [], true];
    });
  }

  identityHash(cvm) {
    return reg.identityHash(cvm.identity.pubkey);
  }

  collaterals(cvm, identity, { withAk }) {
    cvm.clock += 777;
    const extra = Buffer.concat([Buffer.from([0xff]), reg.identityHash(identity.pubkey)]);
    const quote = buildQuote(cvm.akName, extra, cvm.pcrs, cvm.clock);
    const certs = withAk && cvm.profile.cloud === 1n ? [selfSignedCert(cvm.ak, `synthetic AK ${cvm.k}`, `${this.runTag}/${cvm.k}`)] : [];
    const akPub = withAk && cvm.akJson ? cvm.akJson : Buffer.alloc(0);
    const reportId = withAk && cvm.profile.cloud === 1n && cvm.profile.tee === 1n ? cvm.uuid : Buffer.alloc(0);
    return [quote, tpmSignature(cvm.ak, quote), cvm.pcrs, reportId, akPub, certs, identity.pubkey];
  }

  // attestCvm calldata for a new CVM (or a refresh of an existing one).
  registration(cvm, timestamp) {
    const { profile } = cvm;
    let report;
    if (profile.tee === 1n) {
      const rtmr3 = sha384(Buffer.concat([Buffer.alloc(48), sha384(cvm.uuid)]));
      report = tdxQuote(cvm.k, rtmr3);
    } else {
      const reportData = Buffer.alloc(64);
      if (cvm.akJson) sha256(cvm.akJson).copy(reportData, 0);
      report = snpZkReport(cvm.k, reportData, cvm.reportId, timestamp - 30);
    }
    const wc = this.collaterals(cvm, cvm.identity, { withAk: true });
    return {
      calldata: reg.encodeAttest(profile.cloud, profile.tee, profile.reportType, report, wc),
      identity: abi.hex(this.identityHash(cvm)),
    };
  }

  // reattestCvmWithTpm calldata, optionally rotating to a fresh identity key.
  reattestation(cvm, { rotate }) {
    const oldHash = this.identityHash(cvm);
    const next = rotate ? this.newIdentity(cvm.k, cvm.generation + 1) : cvm.identity;
    const wc = this.collaterals(cvm, next, { withAk: false });
    const payload = Buffer.concat([be(cvm.nonce, 32), sha256(wc[0])]);
    const signature = signRaw(cvm.identity, this.signedMessage('CVM_WORKLOAD_REATTEST_TPM', payload));
    const calldata = reg.encodeReattest(oldHash, signature, wc);
    // state after success: the old hash keeps the incremented nonce; a new hash starts at 0
    const result = { calldata, oldIdentity: abi.hex(oldHash), identity: abi.hex(reg.identityHash(next.pubkey)), rotate };
    result.commit = () => {
      if (rotate) {
        cvm.identity = next;
        cvm.generation += 1;
        cvm.nonce = 0n;
      } else {
        cvm.nonce += 1n;
      }
    };
    return result;
  }

  ttlUpdate(cvm, teeTTL, tpmTTL) {
    const h = this.identityHash(cvm);
    const payload = Buffer.concat([be(cvm.nonce, 32), be(teeTTL, 8), be(tpmTTL, 8)]);
    const signature = signRaw(cvm.identity, this.signedMessage('CVM_WORKLOAD_TTL_CONFIG', payload));
    return {
      calldata: reg.encodeSetTTL(h, BigInt(teeTTL), BigInt(tpmTTL), signature),
      identity: abi.hex(h),
      commit: () => {
        cvm.nonce += 1n;
      },
    };
  }
}

// TTL choices cycle through ordinary and alert-worthy values (0 = invalid at once, > 90 days).
const TTL_CHOICES = [
  [7 * 86400, 14 * 86400],
  [3 * 3600, 3 * 3600],
  [30 * 86400, 60 * 86400],
  [0, 86400],
  [365 * 86400, 365 * 86400],
];

module.exports = { SyntheticFleet, TTL_CHOICES, p256Key, selfSignedCert };
