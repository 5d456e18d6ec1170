'use strict';
// Minimal Solidity ABI encoder/decoder (canonical head/tail encoding) plus keccak helpers.
// Types are written as Solidity type strings: "uint64", "bytes32", "bytes", "bool", "address",
// "string", "T[]" and tuples "(T1,T2,...)". Values:
//   uintN      -> BigInt (numbers and decimal/hex strings are accepted when encoding)
//   bool       -> boolean
//   address    -> lower-case 0x-hex string
//   bytesN     -> Buffer of length N
//   bytes      -> Buffer
//   string     -> JS string (UTF-8)
//   T[]        -> Array
//   tuple      -> Array (positional)
const { keccak256: keccakHex } = require('js-sha3');

function keccak256(buf) {
  return Buffer.from(keccakHex.arrayBuffer(buf));
}

function selector(signature) {
  return keccak256(Buffer.from(signature, 'utf8')).subarray(0, 4);
}

function hex(buf) {
  return '0x' + Buffer.from(buf).toString('hex');
}

function unhex(s) {
  if (Buffer.isBuffer(s)) return s;
  if (typeof s !== 'string') throw new Error(`expected hex string, got ${typeof s}`);
  const h = s.startsWith('0x') || s.startsWith('0X') ? s.slice(2) : s;
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new Error(`invalid hex: ${s.slice(0, 20)}…`);
  return Buffer.from(h, 'hex');
}

// ---- type parsing ---------------------------------------------------------------------------

function splitTopLevel(inner) {
  const parts = [];
  let depth = 0;
  let cur = '';
  for (const ch of inner) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (cur.length) parts.push(cur);
  return parts;
}

const typeCache = new Map();

function parseType(t) {
  if (typeCache.has(t)) return typeCache.get(t);
  let node;
  const arr = t.match(/^(.*)\[(\d*)\]$/);
  if (arr) {
    if (arr[2] !== '') throw new Error(`fixed-size arrays are not supported: ${t}`);
    node = { kind: 'array', elem: parseType(arr[1]) };
  } else if (t.startsWith('(')) {
    if (!t.endsWith(')')) throw new Error(`bad tuple type ${t}`);
    node = { kind: 'tuple', elems: splitTopLevel(t.slice(1, -1)).map(parseType) };
  } else if (/^uint(\d+)$/.test(t)) {
    node = { kind: 'uint', bits: Number(t.slice(4)) };
  } else if (t === 'bool') {
    node = { kind: 'bool' };
  } else if (t === 'address') {
    node = { kind: 'address' };
  } else if (t === 'bytes' || t === 'string') {
    node = { kind: t };
  } else if (/^bytes(\d+)$/.test(t)) {
    node = { kind: 'fixedbytes', size: Number(t.slice(5)) };
  } else {
    throw new Error(`unsupported ABI type ${t}`);
  }
  node.dynamic =
    node.kind === 'bytes' || node.kind === 'string' || node.kind === 'array' ||
    (node.kind === 'tuple' && node.elems.some((e) => e.dynamic));
  typeCache.set(t, node);
  return node;
}

// ---- encoding -------------------------------------------------------------------------------

function word(bi) {
  if (bi < 0n) throw new Error('negative integers are not supported');
  const h = bi.toString(16);
  if (h.length > 64) throw new Error('integer does not fit in 256 bits');
  return Buffer.from(h.padStart(64, '0'), 'hex');
}

function toBig(v) {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  if (typeof v === 'string') return BigInt(v);
  throw new Error(`cannot convert ${typeof v} to integer`);
}

function padRight(buf) {
  const n = Math.ceil(buf.length / 32) * 32;
  return Buffer.concat([buf, Buffer.alloc(n - buf.length)]);
}

function encodeNode(node, v) {
  switch (node.kind) {
    case 'uint': {
      const bi = toBig(v);
      if (bi >> BigInt(node.bits) !== 0n) throw new Error(`value ${bi} does not fit uint${node.bits}`);
      return word(bi);
    }
    case 'bool':
      return word(v ? 1n : 0n);
    case 'address': {
      const b = unhex(v);
      if (b.length !== 20) throw new Error('address must be 20 bytes');
      return Buffer.concat([Buffer.alloc(12), b]);
    }
    case 'fixedbytes': {
      const b = unhex(v);
      if (b.length !== node.size) throw new Error(`bytes${node.size} value has ${b.length} bytes`);
      return padRight(b);
    }
    case 'bytes':
    case 'string': {
      const b = node.kind === 'string' ? Buffer.from(v, 'utf8') : unhex(v);
      return Buffer.concat([word(BigInt(b.length)), padRight(b)]);
    }
    case 'array':
      return Buffer.concat([word(BigInt(v.length)), encodeSequence(v.map(() => node.elem), v)]);
    case 'tuple':
      if (!Array.isArray(v) || v.length !== node.elems.length) {
        throw new Error(`tuple needs ${node.elems.length} values`);
      }
      return encodeSequence(node.elems, v);
    default:
      throw new Error(`cannot encode ${node.kind}`);
  }
}

function encodeSequence(nodes, values) {
  const heads = [];
  const tails = [];
  let headSize = 0;
  for (const n of nodes) headSize += n.dynamic ? 32 : staticSize(n);
  let tailOffset = headSize;
  nodes.forEach((n, i) => {
    const enc = encodeNode(n, values[i]);
    if (n.dynamic) {
      heads.push(word(BigInt(tailOffset)));
      tails.push(enc);
      tailOffset += enc.length;
    } else {
      heads.push(enc);
    }
  });
  return Buffer.concat([...heads, ...tails]);
}

function staticSize(node) {
  if (node.kind === 'tuple') return node.elems.reduce((a, e) => a + staticSize(e), 0);
  return 32;
}

function encode(types, values) {
  return encodeSequence(types.map(parseType), values);
}

function encodeCall(signature, values) {
  const open = signature.indexOf('(');
  const types = splitTopLevel(signature.slice(open + 1, -1));
  return Buffer.concat([selector(signature), encode(types, values)]);
}

// ---- decoding -------------------------------------------------------------------------------

function readWord(buf, off) {
  if (off + 32 > buf.length) throw new Error(`ABI data too short (need ${off + 32}, have ${buf.length})`);
  return BigInt('0x' + buf.subarray(off, off + 32).toString('hex'));
}

function readSmall(buf, off) {
  const v = readWord(buf, off);
  if (v > BigInt(buf.length)) throw new Error(`ABI offset/length ${v} out of range`);
  return Number(v);
}

function decodeNode(node, buf, off) {
  switch (node.kind) {
    case 'uint': {
      const v = readWord(buf, off);
      if (v >> BigInt(node.bits) !== 0n) throw new Error(`value does not fit uint${node.bits}`);
      return v;
    }
    case 'bool':
      return readWord(buf, off) !== 0n;
    case 'address':
      readWord(buf, off);
      return hex(buf.subarray(off + 12, off + 32));
    case 'fixedbytes':
      readWord(buf, off);
      return Buffer.from(buf.subarray(off, off + node.size));
    case 'bytes':
    case 'string': {
      const len = readSmall(buf, off);
      if (off + 32 + len > buf.length) throw new Error('ABI bytes run past the end');
      const b = Buffer.from(buf.subarray(off + 32, off + 32 + len));
      return node.kind === 'string' ? b.toString('utf8') : b;
    }
    case 'array': {
      const len = readSmall(buf, off);
      return decodeSequence(new Array(len).fill(node.elem), buf, off + 32);
    }
    case 'tuple':
      return decodeSequence(node.elems, buf, off);
    default:
      throw new Error(`cannot decode ${node.kind}`);
  }
}

function decodeSequence(nodes, buf, base) {
  const out = [];
  let head = base;
  for (const n of nodes) {
    if (n.dynamic) {
      out.push(decodeNode(n, buf, base + readSmall(buf, head)));
      head += 32;
    } else {
      out.push(decodeNode(n, buf, head));
      head += staticSize(n);
    }
  }
  return out;
}

function decode(types, buf) {
  return decodeSequence(types.map(parseType), unhex(buf), 0);
}

module.exports = { keccak256, selector, hex, unhex, encode, encodeCall, decode, parseType, splitTopLevel };
