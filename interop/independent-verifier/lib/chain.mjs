// The read interface of protocol.md 6.2: selectors, calldata, strict decoding, raw JSON-RPC eth_call.

import { keccak256, utf8, toHex, fromHex, concat } from './codec.mjs';

export class ChainError extends Error {}

export const VIEWS = {
  'registry()': { contract: 'ledger' },
  'anchorOf(bytes32,bytes32)': { contract: 'ledger', out: ['uint64', 'uint64', 'uint32'] },
  'statusOf(bytes32,bytes32)': { contract: 'ledger', out: ['uint8', 'uint8', 'uint64'] },
  'rootStatusOf(bytes32,bytes32)': { contract: 'ledger', out: ['uint8', 'uint8', 'uint64'] },
  'credentialStatus(bytes32,bytes32,bytes32)': { contract: 'ledger', out: ['uint8', 'uint8', 'uint64'] },
  'agencyInfo(bytes32)': { contract: 'registry' },
  'keyOf(bytes32,bytes32)': { contract: 'registry', out: ['uint64', 'uint64'] },
  'isPermitted(bytes32,bytes32)': { contract: 'registry', out: ['bool'] },
  'agencyOf(address)': { contract: 'registry', out: ['bytes32'] },
  'operatorInfo(address)': { contract: 'registry', out: ['bytes32', 'bool'] },
  'agencyIdAt(uint32)': { contract: 'registry', out: ['bytes32'] },
  'agencyCount()': { contract: 'registry', out: ['uint32'] },
};

export const selector = (signature) => keccak256(utf8(signature)).slice(0, 4);

function word(value, type) {
  if (value instanceof Uint8Array) {
    if (type === 'bytes32') {
      if (value.length !== 32) throw new Error('bytes32 must be 32 bytes');
      return value;
    }
    if (type === 'address') {
      if (value.length !== 20) throw new Error('address must be 20 bytes');
      return concat(new Uint8Array(12), value);
    }
  }
  if (typeof value === 'bigint' || typeof value === 'number') {
    const w = new Uint8Array(32);
    let x = BigInt(value);
    for (let k = 31; k >= 0; k--) {
      w[k] = Number(x & 0xffn);
      x >>= 8n;
    }
    return w;
  }
  throw new Error(`cannot encode ${type}`);
}

/** Calldata = selector || one 32-byte word per (static) argument (6.2 ABI rule 1). */
export function encodeCall(signature, args) {
  const types = signature.slice(signature.indexOf('(') + 1, -1).split(',').filter(Boolean);
  if (types.length !== args.length) throw new Error('argument count');
  return concat(selector(signature), ...args.map((a, k) => word(a, types[k])));
}

const bigFrom = (bytes) => (bytes.length ? BigInt(toHex(bytes)) : 0n);

function decodeWord(w, type) {
  if (type === 'bytes32') return toHex(w);
  const zeroPrefix = (n) => w.slice(0, 32 - n).every((b) => b === 0);
  if (type === 'bool') {
    if (!zeroPrefix(1) || w[31] > 1) throw new ChainError('bool is neither 0 nor 1');
    return w[31] === 1;
  }
  const m = /^uint(\d+)$/.exec(type);
  if (m) {
    const nbytes = Number(m[1]) / 8;
    if (!zeroPrefix(nbytes)) throw new ChainError(`non-zero padding in a ${type} word`);
    return bigFrom(w.slice(32 - nbytes));
  }
  throw new Error(`type ${type}`);
}

/** Strict decoding of a static tuple: exactly one word per value (6.2 ABI rules 2 and 4). */
export function decodeStatic(resultHex, types) {
  let bytes;
  try {
    bytes = fromHex(resultHex);
  } catch {
    throw new ChainError('answer is not hex');
  }
  if (bytes.length === 0) throw new ChainError('empty answer (no contract at the address?)');
  if (bytes.length !== 32 * types.length) {
    throw new ChainError(`answer of ${bytes.length} bytes, expected ${32 * types.length}`);
  }
  return types.map((t, k) => decodeWord(bytes.slice(32 * k, 32 * k + 32), t));
}

const pad32 = (n) => Math.ceil(n / 32) * 32;

/** Strict decoding of agencyInfo's (string, string, bool), in its canonical layout (6.2 ABI rule 3). */
export function decodeAgencyInfo(resultHex) {
  let bytes;
  try {
    bytes = fromHex(resultHex);
  } catch {
    throw new ChainError('answer is not hex');
  }
  if (bytes.length === 0) throw new ChainError('empty answer (no contract at the address?)');
  if (bytes.length < 96) throw new ChainError('answer too short');
  const off0 = decodeWord(bytes.slice(0, 32), 'uint64');
  const off1 = decodeWord(bytes.slice(32, 64), 'uint64');
  const active = decodeWord(bytes.slice(64, 96), 'bool');
  const readString = (offset) => {
    const o = Number(offset);
    if (o + 32 > bytes.length) throw new ChainError('string offset out of range');
    const len = Number(decodeWord(bytes.slice(o, o + 32), 'uint64'));
    const end = o + 32 + pad32(len);
    if (end > bytes.length) throw new ChainError('string out of range');
    const body = bytes.slice(o + 32, o + 32 + len);
    if (!bytes.slice(o + 32 + len, end).every((b) => b === 0)) throw new ChainError('non-zero string padding');
    let s;
    try {
      s = new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      throw new ChainError('string is not UTF-8');
    }
    return { s, end };
  };
  if (off0 !== 0x60n) throw new ChainError('unexpected offset of code');
  const code = readString(off0);
  if (off1 !== BigInt(code.end)) throw new ChainError('unexpected offset of name');
  const name = readString(off1);
  if (name.end !== bytes.length) throw new ChainError('trailing bytes in answer');
  return { code: code.s, name: name.s, active };
}

// ---- JSON-RPC ---------------------------------------------------------------------------------

export class RpcClient {
  constructor(url, { timeoutMs = 15000 } = {}) {
    this.url = url;
    this.timeoutMs = timeoutMs;
    this.nextId = 1;
  }

  async request(method, params) {
    let res;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: this.nextId++, method, params }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new ChainError(`${method}: ${e.cause?.code || e.name}: ${e.message}`);
    }
    if (!res.ok) throw new ChainError(`${method}: HTTP ${res.status}`);
    let body;
    try {
      body = await res.json();
    } catch {
      throw new ChainError(`${method}: answer is not JSON`);
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new ChainError(`${method}: answer is not a JSON-RPC response`);
    }
    if (body.error !== undefined && body.error !== null) {
      throw new ChainError(`${method}: ${JSON.stringify(body.error).slice(0, 300)}`);
    }
    if (typeof body.result !== 'string' || !/^0x[0-9a-fA-F]*$/.test(body.result)) {
      throw new ChainError(`${method}: result is not hex`);
    }
    return body.result;
  }

  async chainId() {
    const r = await this.request('eth_chainId', []);
    if (r === '0x') throw new ChainError('eth_chainId: empty');
    return BigInt(r);
  }

  async call(to, data) {
    return this.request('eth_call', [{ to, data: toHex(data) }, 'latest']);
  }
}

/**
 * The chain reader of one trusted deployment. Checks the node's chain id before the first read
 * (10.1 rule 1); every failure is a ChainError, which the checks turn into CHAIN_UNAVAILABLE.
 */
export class DeploymentReader {
  constructor(rpc, root) {
    this.rpc = rpc;
    this.root = root; // {chainId, ledger, registry} (addresses 0x + 40 lower-case hex)
    this.chainChecked = false;
  }

  async ensureChain() {
    if (this.chainChecked) return;
    const id = await this.rpc.chainId();
    if (id !== this.root.chainId) {
      throw new ChainError(`the node is on chain ${id}, the trust root on chain ${this.root.chainId}`);
    }
    this.chainChecked = true;
  }

  async view(signature, args) {
    await this.ensureChain();
    const to = VIEWS[signature].contract === 'ledger' ? this.root.ledger : this.root.registry;
    const result = await this.rpc.call(to, encodeCall(signature, args));
    if (signature === 'agencyInfo(bytes32)') return decodeAgencyInfo(result);
    return decodeStatic(result, VIEWS[signature].out);
  }

  async anchorOf(A, root) {
    const [timestamp, blockNumber, count] = await this.view('anchorOf(bytes32,bytes32)', [A, root]);
    return { timestamp, blockNumber, count };
  }
  async statusOf(A, digest) {
    const [state, reason, since] = await this.view('statusOf(bytes32,bytes32)', [A, digest]);
    return { state, reason, since };
  }
  async rootStatusOf(A, root) {
    const [state, reason, since] = await this.view('rootStatusOf(bytes32,bytes32)', [A, root]);
    return { state, reason, since };
  }
  async agencyInfo(A) {
    return this.view('agencyInfo(bytes32)', [A]);
  }
  async keyOf(A, K) {
    const [validFrom, revokedAt] = await this.view('keyOf(bytes32,bytes32)', [A, K]);
    return { validFrom, revokedAt };
  }
  async isPermitted(A, typeId) {
    const [permitted] = await this.view('isPermitted(bytes32,bytes32)', [A, typeId]);
    return permitted;
  }
}
