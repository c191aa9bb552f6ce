// The read interface of protocol.md 6.2: selectors, calldata, strict decoding (6.2 rule 4), raw JSON-RPC.

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

/**
 * The hex text of an eth_call answer (6.2 rule 4.1): `0x` and an even number of hex digits of either
 * case. The spellings the repository's reader also takes (no `0x`, an odd number of digits) are
 * refused here, as the rule allows (fail closed).
 */
function answerBytes(resultHex) {
  if (typeof resultHex !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(resultHex)) {
    throw new ChainError('answer is not 0x-prefixed hex of whole bytes');
  }
  return fromHex(resultHex);
}

/**
 * Strict decoding of a static tuple (6.2 rule 4.2): fewer bytes than the tuple, non-zero high bytes
 * of a uintN word, a bool other than 0 or 1 fail. Bytes after the tuple (which the repository's
 * reader ignores) are refused here, as the rule allows.
 */
export function decodeStatic(resultHex, types) {
  const bytes = answerBytes(resultHex);
  if (bytes.length === 0) throw new ChainError('empty answer (no contract at the address?)');
  if (bytes.length < 32 * types.length) {
    throw new ChainError(`answer of ${bytes.length} bytes, shorter than the ${32 * types.length} of the tuple`);
  }
  if (bytes.length > 32 * types.length) {
    throw new ChainError(`answer of ${bytes.length} bytes, longer than the ${32 * types.length} of the tuple`);
  }
  return types.map((t, k) => decodeWord(bytes.slice(32 * k, 32 * k + 32), t));
}

const pad32 = (n) => Math.ceil(n / 32) * 32;

/**
 * Strict decoding of agencyInfo's (string code, string name, bool active) (6.2 rule 4.3). The rule's
 * MUSTs: offsets within 96 <= offset < length, a length word, n bytes and zero padding present, the
 * padding zero, the bytes well-formed UTF-8 (any well-formed string, U+FEFF and U+0000 included, is
 * taken as it is), the bool 0 or 1. Beyond them this reader accepts only the canonical layout (offsets
 * 0x60 and 0x60 + 32 + ceil32(len(code)), nothing between or after the strings), as the rule allows.
 */
export function decodeAgencyInfo(resultHex) {
  const bytes = answerBytes(resultHex);
  if (bytes.length === 0) throw new ChainError('empty answer (no contract at the address?)');
  if (bytes.length < 96) throw new ChainError('answer shorter than its three head words');
  const off0 = BigInt(toHex(bytes.slice(0, 32)));
  const off1 = BigInt(toHex(bytes.slice(32, 64)));
  const active = decodeWord(bytes.slice(64, 96), 'bool');
  const readString = (offset) => {
    if (offset < 96n || offset >= BigInt(bytes.length)) throw new ChainError('string offset out of range');
    const o = Number(offset);
    if (o + 32 > bytes.length) throw new ChainError('string length word out of range');
    const len = BigInt(toHex(bytes.slice(o, o + 32)));
    if (BigInt(o + 32) + len > BigInt(bytes.length)) throw new ChainError('string out of range');
    const n = Number(len);
    const end = o + 32 + pad32(n);
    if (end > bytes.length) throw new ChainError('string padding out of range');
    if (!bytes.slice(o + 32 + n, end).every((b) => b === 0)) throw new ChainError('non-zero string padding');
    let s;
    try {
      s = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.slice(o + 32, o + 32 + n));
    } catch {
      throw new ChainError('string is not well-formed UTF-8');
    }
    return { s, end };
  };
  const code = readString(off0);
  const name = readString(off1);
  if (off0 !== 0x60n) throw new ChainError('non-canonical encoding: offset of code is not 0x60');
  if (off1 !== BigInt(code.end)) throw new ChainError('non-canonical encoding: name does not follow code');
  if (name.end !== bytes.length) throw new ChainError('non-canonical encoding: bytes after the strings');
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
    if (typeof body.result !== 'string') throw new ChainError(`${method}: result is not a string`);
    return body.result;
  }

  /** eth_chainId as a JSON-RPC quantity: 0x and at least one hex digit (either case). */
  async chainId() {
    const r = await this.request('eth_chainId', []);
    if (!/^0x[0-9a-fA-F]+$/.test(r)) throw new ChainError(`eth_chainId: not a quantity: ${JSON.stringify(r).slice(0, 80)}`);
    return BigInt(r);
  }

  async call(to, data) {
    return this.request('eth_call', [{ to, data: toHex(data) }, 'latest']);
  }
}

/**
 * The chain reader of one trusted deployment; every failure is a ChainError, which the checks turn
 * into CHAIN_UNAVAILABLE. protocol.md 10.1 rule 2: the endpoint's eth_chainId must be asked before the
 * first read over each connection, and again whenever the verifier connects again. Over HTTP a
 * JSON-RPC client does not see its connections (fetch pools and reopens sockets as it likes), so
 * this reader takes the "every read" option the rule allows: eth_chainId is asked, and compared,
 * immediately before every eth_call.
 */
export class DeploymentReader {
  constructor(rpc, root) {
    this.rpc = rpc;
    this.root = root; // {chainId, ledger, registry} (addresses 0x + 40 lower-case hex)
  }

  async ensureChain() {
    const id = await this.rpc.chainId();
    if (id !== this.root.chainId) {
      throw new ChainError(`the node is on chain ${id}, the trust root on chain ${this.root.chainId}`);
    }
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
