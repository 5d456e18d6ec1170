'use strict';
// Starting and stopping the local anvil node of the devnet.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const ANVIL = path.join(ROOT, 'node_modules', '@foundry-rs', 'anvil-linux-amd64', 'bin', 'anvil');
const CAST = path.join(ROOT, 'node_modules', '@foundry-rs', 'cast-linux-amd64', 'bin', 'cast');

// Genesis timestamp: before every timestamp the replay uses (2025-08-26T09:20:00Z).
const GENESIS_TIMESTAMP = 1756200000;
const CHAIN_ID = 31337;

function pause(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return e.code === 'EPERM';
  }
  // a zombie still answers kill(0); treat it as gone
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch (_) {
    return false;
  }
}

function isOurAnvil(pid) {
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmd[0] === ANVIL;
  } catch (_) {
    return false;
  }
}

// Starts anvil on a free loopback port. Resolves with {pid, port, home, log}.
async function start(stateDir, { timeoutMs = 15000 } = {}) {
  if (!fs.existsSync(ANVIL)) {
    throw new Error(`anvil binary not found at ${ANVIL} (run "npm ci" in ${ROOT})`);
  }
  fs.mkdirSync(stateDir, { recursive: true });
  const log = path.join(stateDir, 'anvil.log');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cvmwatch-anvil-home-'));
  const fd = fs.openSync(log, 'w');
  const args = [
    '--host', '127.0.0.1',
    '--port', '0',
    '--chain-id', String(CHAIN_ID),
    '--timestamp', String(GENESIS_TIMESTAMP),
    '--gas-limit', '30000000',
  ];
  const child = spawn(ANVIL, args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, HOME: home },
  });
  fs.closeSync(fd);
  let exited = null;
  child.on('exit', (code, sig) => {
    exited = { code, sig };
  });
  const pid = child.pid;
  child.unref();

  // Bounded poll of the log for the listening port.
  const deadline = Date.now() + timeoutMs;
  let port = null;
  while (Date.now() < deadline) {
    const text = fs.readFileSync(log, 'utf8');
    const m = text.match(/Listening on 127\.0\.0\.1:(\d+)/);
    if (m) {
      port = Number(m[1]);
      break;
    }
    if (exited || !isAlive(pid)) {
      throw new Error(`anvil exited during start-up (${JSON.stringify(exited)}); log ${log}:\n${text.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!port) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (_) {}
    throw new Error(`anvil did not report a listening port within ${timeoutMs} ms (log ${log})`);
  }
  return { pid, port, home, log };
}

// Stops anvil by pid (SIGTERM, then SIGKILL after a bounded wait). Returns a status string.
function stop(pid, home) {
  let status;
  if (!pid || !isAlive(pid)) {
    status = 'not running';
  } else if (!isOurAnvil(pid)) {
    status = `pid ${pid} is not the devnet's anvil; left alone`;
  } else {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && isAlive(pid); i++) pause(50);
    if (isAlive(pid)) {
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 40 && isAlive(pid); i++) pause(50);
    }
    status = isAlive(pid) ? `pid ${pid} still alive` : 'stopped';
  }
  if (home && home.includes('cvmwatch-anvil-home-') && fs.existsSync(home)) {
    fs.rmSync(home, { recursive: true, force: true });
  }
  return status;
}

module.exports = { ANVIL, CAST, ROOT, GENESIS_TIMESTAMP, CHAIN_ID, start, stop, isAlive };
