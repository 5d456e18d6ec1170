'use strict';
// JSON-RPC over HTTP (node 20 built-in fetch).

class RpcError extends Error {
  constructor(method, error) {
    super(`${method}: ${error.message || JSON.stringify(error)}`);
    this.method = method;
    this.code = error.code;
    this.data = error.data;
  }
}

class Rpc {
  constructor(url, { timeoutMs = 60000 } = {}) {
    this.url = url;
    this.timeoutMs = timeoutMs;
    this.id = 0;
  }

  async call(method, params = []) {
    const body = JSON.stringify({ jsonrpc: '2.0', id: ++this.id, method, params });
    let res;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new Error(`${method}: cannot reach ${this.url}: ${e.cause ? e.cause.message : e.message}`);
    }
    const text = await res.text();
    let msg;
    try {
      msg = JSON.parse(text);
    } catch (_) {
      throw new Error(`${method}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
    }
    if (msg.error) throw new RpcError(method, msg.error);
    return msg.result;
  }

  // eth_call; returns {ok, data} where data is the return or revert data (hex).
  async ethCall(to, data, block = 'latest') {
    try {
      const r = await this.call('eth_call', [{ to, data }, block]);
      return { ok: true, data: r };
    } catch (e) {
      if (e instanceof RpcError) {
        let d = e.data;
        if (d && typeof d === 'object' && d.data) d = d.data;
        if (typeof d === 'string' && d.startsWith('0x')) return { ok: false, data: d };
        return { ok: false, data: '0x', message: e.message };
      }
      throw e;
    }
  }
}

module.exports = { Rpc, RpcError };
