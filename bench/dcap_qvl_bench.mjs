// Times @phala/dcap-qvl (the pinned devDependency) verifying one TDX quote with one collateral
// bundle (the testdata/tdx/collateral_*.json form) at a fixed time, fully offline.
// Usage: node bench/dcap_qvl_bench.mjs QUOTE COLLATERAL_JSON NOW_SECS [N]
// Prints one JSON line: {"status", "first_us", "per_verify_us", "n"}.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { verify } = require('@phala/dcap-qvl');

const [quotePath, collateralPath, nowArg, nArg] = process.argv.slice(2);
if (!quotePath || !collateralPath || !nowArg) {
  console.error('usage: dcap_qvl_bench.mjs QUOTE COLLATERAL_JSON NOW_SECS [N]');
  process.exit(2);
}
const quote = new Uint8Array(readFileSync(quotePath));
const collateral = JSON.parse(readFileSync(collateralPath, 'utf8'));
const now = Number(nowArg);
const n = Number(nArg || 200);

const us = (t0) => Number(process.hrtime.bigint() - t0) / 1000;
let t0 = process.hrtime.bigint();
const first = await verify(quote, collateral, now);
const firstUs = us(t0);
t0 = process.hrtime.bigint();
let last = first;
for (let i = 0; i < n; i++) last = await verify(quote, collateral, now);
const perUs = us(t0) / n;
console.log(JSON.stringify({ status: last.status, first_us: firstUs, per_verify_us: perUs, n }));
