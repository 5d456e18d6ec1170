'use strict';
// The cvmwatch devnet: anvil + devnet registry contracts + replay of the seed's vectors.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const abi = require('./abi');
const reg = require('./registry-abi');
const anvil = require('./anvil');
const vectors = require('./vectors');
const { Rpc } = require('./rpc');
const { SyntheticFleet, TTL_CHOICES } = require('./synthetic');

const ROOT = anvil.ROOT;
const SEED_OWNER = '0x0000000000000000000000000000000000001234';
const SEED_OWNER_NONCE = 6;
const SEED_REGISTRY = '0x3cd4e8a3644ddc8b16954a9f50fd0dc0185161ac';
const DEPLOYER_INDEX = 0; // anvil dev account that deploys the implementations
const SUBMITTER_INDEX = 1; // anvil dev account that submits the replayed transactions
const TX_GAS = '0x17d7840'; // 25,000,000: explicit, so reverting calls are still mined

// Block timestamps of the replay (seconds). Monotonic; see contracts/README.md.
const TIMES = {
  gcpSnpRegistration: 1756282879, // = the GCP SNP journal timestamp (>= AK notBefore 1756282736)
  gcpSnpReattestation: 1756282939,
  upgrade: 1757040000,
  azureSnpRegistration: 1757040538, // = the Azure SNP journal timestamp
  azureSnpReattestation: 1757040598,
  // GCP TDX last: at 2025-10-25T00:00:00Z, inside the window of the only Intel collateral we hold
  // (2025-10-19..2025-11-12), so that a real TDX verifier can evaluate its TCB status at block time.
  gcpTdxRegistration: 1761350400, // >= AK notBefore 1756980808 (the seed test warps to 1756980900)
  gcpTdxReattestation: 1761350460,
  ttlGcpTdx: 1761350520,
  ttlGcpSnp: 1761350580,
  forgedStart: 1761351000,
  forgedStep: 60,
};
const SYNTHETIC_STEP = 12;

function stateDir() {
  return process.env.DEVNET_DIR ? path.resolve(process.env.DEVNET_DIR) : path.join(ROOT, '.devnet');
}

function statePath() {
  return path.join(stateDir(), 'state.json');
}

function readState({ required = true } = {}) {
  const p = statePath();
  if (!fs.existsSync(p)) {
    if (required) throw new Error(`no devnet state at ${p}: run "scripts/devnet start" first`);
    return null;
  }
  return JSON.parse(fs.readFileSync(p, 'utf8'));
}

function writeState(s) {
  fs.mkdirSync(stateDir(), { recursive: true });
  const tmp = statePath() + '.tmp';
  fs.writeFileSync(tmp, JSON.stringify(s, null, 2) + '\n');
  fs.renameSync(tmp, statePath());
}

function rpcFor(state) {
  if (!state.pid || !anvil.isAlive(state.pid)) {
    throw new Error(`the devnet in ${stateDir()} is not running${state.stoppedAt ? ` (stopped ${state.stoppedAt})` : ''}: run "scripts/devnet start"`);
  }
  return new Rpc(state.rpcUrl);
}

function artifact(name) {
  const p = path.join(ROOT, 'contracts', 'out', `${name}.json`);
  return JSON.parse(fs.readFileSync(p, 'utf8'));
}

function ensureBuilt() {
  const srcDir = path.join(ROOT, 'contracts', 'src');
  const outDir = path.join(ROOT, 'contracts', 'out');
  const names = ['CVMRegistry', 'ERC1967Proxy', 'DevnetWorkloadVerifier', 'DevnetTpmAttestation'];
  const newestSrc = Math.max(...fs.readdirSync(srcDir).map((f) => fs.statSync(path.join(srcDir, f)).mtimeMs));
  const stale = names.some((n) => {
    const p = path.join(outDir, `${n}.json`);
    return !fs.existsSync(p) || fs.statSync(p).mtimeMs < newestSrc;
  });
  if (!stale) return;
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-contracts'), '--quiet'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('scripts/build-contracts failed');
}

// ---- transactions ---------------------------------------------------------------------------

async function accounts(rpc) {
  const a = await rpc.call('eth_accounts');
  if (!a || a.length < 2) throw new Error('anvil exposes fewer than 2 dev accounts');
  return a.map((x) => x.toLowerCase());
}

async function sendTx(rpc, tx, { timestamp } = {}) {
  if (timestamp !== undefined) await rpc.call('evm_setNextBlockTimestamp', [timestamp]);
  const hash = await rpc.call('eth_sendTransaction', [{ gas: TX_GAS, ...tx }]);
  // anvil answers eth_sendTransaction before the automined block is stored: poll (bounded)
  for (let i = 0; i < 2000; i++) {
    const receipt = await rpc.call('eth_getTransactionReceipt', [hash]);
    if (receipt) return { hash, receipt };
    await new Promise((r) => setTimeout(r, i < 20 ? 1 : 5));
  }
  throw new Error(`no receipt for ${hash} after ~10 s (is automine off?)`);
}

async function deployContract(rpc, from, name, ctorTypes = [], ctorArgs = []) {
  const a = artifact(name);
  const data = abi.hex(Buffer.concat([abi.unhex(a.bytecode), abi.encode(ctorTypes, ctorArgs)]));
  const { hash, receipt } = await sendTx(rpc, { from, data });
  if (receipt.status !== '0x1' || !receipt.contractAddress) {
    throw new Error(`deploying ${name} failed (tx ${hash})`);
  }
  return { address: receipt.contractAddress.toLowerCase(), txHash: hash, blockNumber: Number(receipt.blockNumber) };
}

async function revertData(rpc, hash) {
  try {
    const t = await rpc.call('debug_traceTransaction', [hash, { tracer: 'callTracer' }]);
    return t && t.output ? t.output : '0x';
  } catch (e) {
    return null;
  }
}

async function view(rpc, to, sig, types, args, retTypes, block = 'latest') {
  const data = abi.hex(abi.encodeCall(sig, args));
  const r = await rpc.ethCall(to, data, block);
  if (!r.ok) return { ok: false, revert: r.data };
  return { ok: true, value: retTypes ? abi.decode(retTypes, r.data) : r.data };
}

// ---- commands -------------------------------------------------------------------------------

async function cmdStart() {
  const existing = readState({ required: false });
  if (existing && existing.pid && anvil.isAlive(existing.pid)) {
    throw new Error(`a devnet is already running (pid ${existing.pid}, ${existing.wsUrl}); "scripts/devnet stop" first`);
  }
  const dir = stateDir();
  fs.mkdirSync(dir, { recursive: true });
  for (const f of ['state.json', 'replay-summary.json']) fs.rmSync(path.join(dir, f), { force: true });
  const a = await anvil.start(dir);
  const state = {
    pid: a.pid,
    port: a.port,
    rpcUrl: `http://127.0.0.1:${a.port}`,
    wsUrl: `ws://127.0.0.1:${a.port}`,
    chainId: anvil.CHAIN_ID,
    anvilHome: a.home,
    log: a.log,
    startedAt: new Date().toISOString(),
  };
  writeState(state);
  // readiness: bounded retry on the first RPC answer
  const rpc = rpcFor(state);
  let chainId;
  for (let i = 0; i < 100; i++) {
    try {
      chainId = Number(await rpc.call('eth_chainId'));
      break;
    } catch (e) {
      if (i === 99) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  if (chainId !== anvil.CHAIN_ID) throw new Error(`anvil reports chain id ${chainId}, expected ${anvil.CHAIN_ID}`);
  console.log(state.wsUrl);
  console.error(`devnet: anvil pid ${a.pid}, chain id ${chainId}, state in ${dir}`);
  return state;
}

async function cmdDeploy() {
  const state = readState();
  ensureBuilt();
  const rpc = rpcFor(state);
  const code = await rpc.call('eth_getCode', [SEED_REGISTRY, 'latest']);
  if (code && code !== '0x') throw new Error(`a contract already exists at ${SEED_REGISTRY}: this devnet is already deployed`);
  const chainId = Number(await rpc.call('eth_chainId'));
  if (chainId !== 31337) throw new Error(`chain id ${chainId}: the seed vectors need 31337`);
  const acc = await accounts(rpc);
  const deployer = acc[DEPLOYER_INDEX];
  let t = anvil.GENESIS_TIMESTAMP + 60;
  await rpc.call('evm_setNextBlockTimestamp', [t]);

  const tpm = await deployContract(rpc, deployer, 'DevnetTpmAttestation');
  const verifier = await deployContract(rpc, deployer, 'DevnetWorkloadVerifier', ['address'], [tpm.address]);
  const impl16 = await deployContract(rpc, deployer, 'CVMRegistry', ['address', 'uint8'], [verifier.address, 2n]);
  const impl256 = await deployContract(rpc, deployer, 'CVMRegistry', ['address', 'uint8'], [verifier.address, 32n]);

  // The registry proxy: CREATE by the seed's owner 0x…1234 at nonce 6.
  await rpc.call('anvil_impersonateAccount', [SEED_OWNER]);
  await rpc.call('anvil_setBalance', [SEED_OWNER, '0x56BC75E2D63100000']);
  await rpc.call('anvil_setNonce', [SEED_OWNER, '0x' + SEED_OWNER_NONCE.toString(16)]);
  const init = abi.encodeCall(reg.SIG.initialize, [SEED_OWNER]);
  const proxy = await deployContract(rpc, SEED_OWNER, 'ERC1967Proxy', ['address', 'bytes'], [impl16.address, init]);
  if (proxy.address !== SEED_REGISTRY) {
    throw new Error(`registry proxy landed at ${proxy.address}, expected ${SEED_REGISTRY}`);
  }
  const owner = await view(rpc, proxy.address, reg.SIG.owner, [], [], ['address']);
  const width = await view(rpc, proxy.address, reg.SIG.chainIdWidth, [], [], ['uint8']);
  if (!owner.ok || owner.value[0] !== SEED_OWNER) throw new Error('registry owner is not 0x…1234');
  if (!width.ok || width.value[0] !== 2n) throw new Error('registry does not start with the uint16 chain-id implementation');

  state.contracts = {
    tpmAttestation: tpm.address,
    workloadVerifier: verifier.address,
    registryImplUint16: impl16.address,
    registryImplUint256: impl256.address,
    registry: proxy.address,
    owner: SEED_OWNER,
  };
  state.deployBlock = proxy.blockNumber;
  state.deployTxs = {
    tpmAttestation: tpm.txHash,
    workloadVerifier: verifier.txHash,
    registryImplUint16: impl16.txHash,
    registryImplUint256: impl256.txHash,
    registry: proxy.txHash,
  };
  writeState(state);
  console.log(`registry proxy        ${proxy.address} (block ${proxy.blockNumber}, owner ${SEED_OWNER})`);
  console.log(`implementation uint16 ${impl16.address} (active)`);
  console.log(`implementation uint256 ${impl256.address}`);
  console.log(`workload verifier     ${verifier.address}`);
  console.log(`tpm attestation       ${tpm.address}`);
  return state;
}

function eventOf(receipt, registry) {
  const names = { [reg.EVENT.CVMUpdated]: 'CVMUpdated', [reg.EVENT.CVMTTLUpdated]: 'CVMTTLUpdated', [reg.EVENT.Upgraded]: 'Upgraded' };
  const out = [];
  for (const log of receipt.logs || []) {
    if (log.address.toLowerCase() !== registry) continue;
    const n = names[log.topics[0]];
    if (!n) continue;
    out.push({ event: n, arg: n === 'Upgraded' ? '0x' + log.topics[1].slice(26) : log.topics[1] });
  }
  return out;
}

function seedPlan(state) {
  const P = vectors.PLATFORMS;
  const c = state.contracts;
  const steps = [];
  const vec = (platform, kind) => {
    const rel = P[platform][kind];
    return { rel, calldata: vectors.loadCalldata(rel) };
  };
  const push = (label, kind, platform, v, ts, expect, extra = {}) => {
    const ids = vectors.identityOf(v.calldata);
    steps.push({
      label, kind, platform, vector: `seed/${v.rel}`, calldata: v.calldata, timestamp: ts, expect,
      identityHash: kind === 'reattestation' ? ids.identity : ids.argIdentity || ids.identity,
      previousIdentityHash: kind === 'reattestation' ? ids.argIdentity : null,
      ...extra,
    });
  };
  const golden = (p) => ({ goldenMeasurement: vectors.loadGolden(P[p].golden), goldenFile: `seed/${P[p].golden}` });

  push('gcp-snp-registration', 'registration', 'gcp-snp', vec('gcp-snp', 'registration'), TIMES.gcpSnpRegistration, 'success', golden('gcp-snp'));
  push('gcp-snp-reattestation', 'reattestation', 'gcp-snp', vec('gcp-snp', 'reattestation'), TIMES.gcpSnpReattestation, 'success', { ...golden('gcp-snp'), chainIdWidth: 2 });
  steps.push({
    label: 'upgrade-to-uint256-chain-id', kind: 'upgrade', platform: null, vector: null,
    calldata: abi.encodeCall(reg.SIG.upgradeToAndCall, [c.registryImplUint256, Buffer.alloc(0)]),
    from: c.owner, timestamp: TIMES.upgrade, expect: 'success', implementation: c.registryImplUint256,
  });
  push('azure-snp-registration', 'registration', 'azure-snp', vec('azure-snp', 'registration'), TIMES.azureSnpRegistration, 'success', golden('azure-snp'));
  push('azure-snp-reattestation', 'reattestation', 'azure-snp', vec('azure-snp', 'reattestation'), TIMES.azureSnpReattestation, 'success', { ...golden('azure-snp'), chainIdWidth: 32 });
  push('gcp-tdx-registration', 'registration', 'gcp-tdx', vec('gcp-tdx', 'registration'), TIMES.gcpTdxRegistration, 'success', golden('gcp-tdx'));
  push('gcp-tdx-reattestation', 'reattestation', 'gcp-tdx', vec('gcp-tdx', 'reattestation'), TIMES.gcpTdxReattestation, 'success', { ...golden('gcp-tdx'), chainIdWidth: 32 });
  push('gcp-tdx-update-ttl', 'ttl', 'gcp-tdx', vec('gcp-tdx', 'ttl'), TIMES.ttlGcpTdx, 'revert:0x75a1d53a');
  push('gcp-snp-update-ttl', 'ttl', 'gcp-snp', vec('gcp-snp', 'ttl'), TIMES.ttlGcpSnp, 'revert:0x75a1d53a');

  let ts = TIMES.forgedStart;
  for (const f of vectors.forgedVariants()) {
    const base = vec(f.platform, 'registration');
    const forged = { rel: base.rel, calldata: vectors.mutateRegistration(base.calldata, f.mutate) };
    push(f.label, 'forged-registration', f.platform, forged, ts, 'success', {
      ...golden(f.platform), forged: true, forgery: f.description, derivedFrom: `seed/${base.rel}`,
    });
    steps[steps.length - 1].vector = null;
    ts += TIMES.forgedStep;
  }
  return steps;
}

function expectLabel(expect) {
  if (expect === 'success') return 'success';
  const sel = expect.replace(/^revert:/, '');
  return `revert ${(reg.ERROR[sel] || sel).replace(/\(.*$/, '')} ${sel}`;
}

async function submit(rpc, state, step, from, out) {
  const { hash, receipt } = await sendTx(rpc, { from: step.from || from, to: state.contracts.registry, data: abi.hex(step.calldata) }, { timestamp: step.timestamp });
  const ok = receipt.status === '0x1';
  const events = eventOf(receipt, state.contracts.registry);
  let revert = null;
  if (!ok) revert = await revertData(rpc, hash);
  const block = await rpc.call('eth_getBlockByNumber', [receipt.blockNumber, false]);
  const revertSelector = revert && revert.length >= 10 ? revert.slice(0, 10) : null;
  const met = step.expect === 'success' ? ok : !ok && step.expect === `revert:${revertSelector}`;
  const rec = {
    label: step.label,
    kind: step.kind,
    platform: step.platform,
    vector: step.vector,
    txHash: hash,
    blockNumber: Number(receipt.blockNumber),
    blockTimestamp: Number(block.timestamp),
    status: ok ? 'success' : 'reverted',
    expected: expectLabel(step.expect),
    expectationMet: met,
    gasUsed: Number(receipt.gasUsed),
    events,
    event: events.length ? events[0].event : null,
    identityHash: step.identityHash || null,
  };
  if (step.previousIdentityHash) rec.previousIdentityHash = step.previousIdentityHash;
  if (revert !== null) {
    rec.revertData = revert;
    rec.revertSelector = revertSelector;
    rec.revertReason = reg.decodeRevert(revert);
  }
  for (const k of ['goldenMeasurement', 'goldenFile', 'chainIdWidth', 'forged', 'forgery', 'derivedFrom', 'implementation', 'synthetic', 'rotation']) {
    if (step[k] !== undefined) rec[k] = step[k];
  }
  if (events.length && rec.kind !== 'upgrade' && events[0].arg !== rec.identityHash) rec.expectationMet = false;
  out.push(rec);
  const evText = events.length ? events.map((e) => e.event).join(',') : ok ? '-' : rec.revertReason || 'reverted';
  const subject = rec.kind === 'upgrade' ? `implementation ${step.implementation}` : rec.identityHash;
  console.log(`${rec.label.padEnd(36)} ${hash} ${rec.status.padEnd(8)} ${(met ? 'as-expected' : 'UNEXPECTED').padEnd(11)} ${evText.padEnd(31)} ${subject}`);
  return rec;
}

async function cmdReplay(args) {
  const state = readState();
  if (!state.contracts) throw new Error('contracts are not deployed: run "scripts/devnet deploy" first');
  const rpc = rpcFor(state);
  const acc = await accounts(rpc);
  const from = acc[SUBMITTER_INDEX];
  let synthetic = 0;
  let seed = true;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--synthetic') {
      synthetic = Number(args[++i]);
      if (!Number.isInteger(synthetic) || synthetic < 0) throw new Error('--synthetic needs a non-negative integer');
    } else if (args[i] === '--no-seed') {
      seed = false;
    } else {
      throw new Error(`replay: unknown argument ${args[i]}`);
    }
  }
  const records = [];
  const summaryFile = path.join(stateDir(), 'replay-summary.json');
  const prev = fs.existsSync(summaryFile) ? JSON.parse(fs.readFileSync(summaryFile, 'utf8')) : null;
  if (prev) records.push(...prev.transactions);

  const latest = await rpc.call('eth_getBlockByNumber', ['latest', false]);
  if (seed) {
    if (!vectors.haveSeed()) {
      throw new Error(`seed vectors not found under ${vectors.seedDir()} (set CVMWATCH_TESTDATA, or use --no-seed)`);
    }
    if (Number(latest.timestamp) >= TIMES.gcpSnpRegistration) {
      throw new Error('the seed vectors were already replayed on this chain (block time is past their window); start a fresh devnet, or use --no-seed');
    }
    await rpc.call('anvil_impersonateAccount', [state.contracts.owner]);
    for (const step of seedPlan(state)) await submit(rpc, state, step, from, records);
  }
  if (synthetic > 0) await replaySynthetic(rpc, state, from, synthetic, records);

  const bad = records.filter((r) => !r.expectationMet);
  const summary = {
    chainId: state.chainId,
    registry: state.contracts.registry,
    contracts: state.contracts,
    testdata: vectors.testdataDir(),
    generatedAt: new Date().toISOString(),
    counts: {
      total: records.length,
      success: records.filter((r) => r.status === 'success').length,
      reverted: records.filter((r) => r.status === 'reverted').length,
      unexpected: bad.length,
    },
    transactions: records,
  };
  fs.writeFileSync(summaryFile, JSON.stringify(summary, null, 2) + '\n');
  console.error(`replay: ${records.length} transactions (${summary.counts.success} succeeded, ${summary.counts.reverted} reverted, ${bad.length} unexpected); summary ${summaryFile}`);
  if (bad.length) {
    for (const b of bad) console.error(`  unexpected: ${b.label} ${b.status} ${b.revertReason || ''}`);
    throw new Error('some transactions did not behave as expected');
  }
  return summary;
}

async function replaySynthetic(rpc, state, from, n, records) {
  const width = await view(rpc, state.contracts.registry, reg.SIG.chainIdWidth, [], [], ['uint8']);
  if (!width.ok) throw new Error('cannot read CHAIN_ID_WIDTH() from the registry');
  const latest = await rpc.call('eth_getBlockByNumber', ['latest', false]);
  let ts = Math.max(Number(latest.timestamp) + SYNTHETIC_STEP, TIMES.forgedStart + 3600);
  const runTag = `run-${Number(latest.number)}`;
  const fleet = new SyntheticFleet({ registry: state.contracts.registry, chainIdWidth: Number(width.value[0]), runTag });
  // per CVM: register, re-attest (same key), set TTL, re-attest with key rotation
  const t0 = Date.now();
  for (let t = 0; t < n; t++) {
    const k = Math.floor(t / 4);
    const action = t % 4;
    const cvm = action === 0 ? fleet.createCvm(k) : fleet.cvms[k];
    let step;
    let built;
    if (action === 0) {
      built = fleet.registration(cvm, ts);
      step = { kind: 'registration', identityHash: built.identity };
    } else if (action === 1 || action === 3) {
      built = fleet.reattestation(cvm, { rotate: action === 3 });
      step = { kind: 'reattestation', identityHash: built.identity, previousIdentityHash: built.oldIdentity, rotation: action === 3 };
    } else {
      const [tee, tpm] = TTL_CHOICES[k % TTL_CHOICES.length];
      built = fleet.ttlUpdate(cvm, tee, tpm);
      step = { kind: 'ttl', identityHash: built.identity };
    }
    Object.assign(step, {
      label: `synthetic-${String(k).padStart(4, '0')}-${step.kind}${step.rotation ? '-rotate' : ''}`,
      platform: cvm.profile.name,
      vector: null,
      calldata: built.calldata,
      timestamp: ts,
      expect: 'success',
      synthetic: true,
    });
    const rec = await submit(rpc, state, step, from, records);
    if (rec.status === 'success' && built.commit) built.commit();
    ts += SYNTHETIC_STEP;
  }
  console.error(`replay: ${n} synthetic transactions in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

function short(h, n = 10) {
  return h ? `${h.slice(0, n)}…${h.slice(-4)}` : '-';
}

async function cmdShow(args = []) {
  const fullHashes = args.includes('--full');
  const state = readState();
  if (!state.contracts) throw new Error('contracts are not deployed: run "scripts/devnet deploy" first');
  const rpc = rpcFor(state);
  const c = state.contracts;
  const implWord = await rpc.call('eth_getStorageAt', [c.registry, '0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc', 'latest']);
  const impl = '0x' + implWord.slice(-40);
  const width = await view(rpc, c.registry, reg.SIG.chainIdWidth, [], [], ['uint8']);
  const owner = await view(rpc, c.registry, reg.SIG.owner, [], [], ['address']);
  const latest = await rpc.call('eth_getBlockByNumber', ['latest', false]);
  console.log(`chain ${Number(await rpc.call('eth_chainId'))}  block ${Number(latest.number)}  time ${Number(latest.timestamp)} (${new Date(Number(latest.timestamp) * 1000).toISOString()})`);
  console.log(`registry ${c.registry}  implementation ${impl} (chain id ${width.ok ? width.value[0] : '?'} bytes)  owner ${owner.ok ? owner.value[0] : '?'}`);

  // every identity hash the registry ever announced
  const logs = await rpc.call('eth_getLogs', [{ address: c.registry, fromBlock: '0x0', toBlock: 'latest', topics: [[reg.EVENT.CVMUpdated, reg.EVENT.CVMTTLUpdated]] }]);
  const hashes = [];
  for (const l of logs) if (!hashes.includes(l.topics[1])) hashes.push(l.topics[1]);
  const header = ['identity hash', 'cloud', 'TEE', 'measurement hash', 'teeTTL', 'tpmTTL', 'nonce', 'TEE fresh', 'TPM fresh'];
  const rows = [];
  let registered = 0;
  for (const h of hashes) {
    const has = await view(rpc, c.registry, reg.SIG.hasRegistered, [], [h], ['bool']);
    if (!has.ok || !has.value[0]) {
      rows.push([h, '(no longer registered: rotated away)']);
      continue;
    }
    registered++;
    const cfg = await view(rpc, c.registry, reg.SIG.getCvmConfig, [], [h], [reg.CVM_CONFIG]);
    const nonce = await view(rpc, c.registry, reg.SIG.nonces, [], [h], ['uint256']);
    const tee = await view(rpc, c.registry, reg.SIG.checkTEEValidity, [], [h], ['bool']);
    const tpm = await view(rpc, c.registry, reg.SIG.checkTPMValidity, [], [h], ['bool']);
    const [teeType, cloudType, teeTTL, tpmTTL, , , mh] = cfg.value[0];
    rows.push([
      h, reg.CLOUD[Number(cloudType)] || String(cloudType), reg.TEE[Number(teeType)] || String(teeType), fullHashes ? abi.hex(mh) : short(abi.hex(mh), 12),
      String(teeTTL), String(tpmTTL), String(nonce.value[0]), tee.value[0] ? 'yes' : 'no', tpm.value[0] ? 'yes' : 'no',
    ]);
  }
  const full = rows.filter((r) => r.length === header.length);
  const widths = header.map((hd, i) => Math.max(hd.length, ...full.map((r) => r[i].length)));
  const line = (r) => r.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  console.log(line(header));
  for (const r of rows) console.log(r.length === header.length ? line(r) : `${r[0]}  ${r[1]}`);
  console.log(`${hashes.length} identities seen in events, ${registered} registered`);
}

async function cmdStop() {
  const state = readState({ required: false });
  if (!state || !state.pid) {
    console.error('devnet: nothing to stop');
    return;
  }
  const status = anvil.stop(state.pid, state.anvilHome);
  console.error(`devnet: anvil pid ${state.pid} ${status}`);
  delete state.pid;
  state.stoppedAt = new Date().toISOString();
  writeState(state);
}

async function cmdDemo(args) {
  let pid = null;
  let home = null;
  const cleanup = () => {
    if (pid) {
      anvil.stop(pid, home);
      pid = null;
    }
  };
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      cleanup();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
  try {
    const s = await cmdStart();
    pid = s.pid;
    home = s.anvilHome;
    await cmdDeploy();
    await cmdReplay(args);
    await cmdShow();
  } finally {
    await cmdStop();
    pid = null;
  }
}

module.exports = {
  cmdStart, cmdDeploy, cmdReplay, cmdShow, cmdStop, cmdDemo, stateDir, readState, TIMES, SEED_REGISTRY, SEED_OWNER,
};
