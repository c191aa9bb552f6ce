// Byte-level primitives: hex, hashes, base58btc, did:key (protocol.md 4.4), CAIP-10 with EIP-55 (2.6).

import { keccak_256 } from '@noble/hashes/sha3.js';
import { sha256 as nobleSha256, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';
import { base58 } from '@scure/base';

export const keccak256 = (bytes) => keccak_256(bytes);
export const sha256 = (bytes) => nobleSha256(bytes);
export const sha512 = (bytes) => nobleSha512(bytes);
export const utf8 = (s) => new TextEncoder().encode(s);

export function toHex(bytes) {
  return '0x' + Buffer.from(bytes).toString('hex');
}

export function fromHex(hex) {
  if (typeof hex !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(hex)) throw new Error(`not hex: ${hex}`);
  return new Uint8Array(Buffer.from(hex.slice(2), 'hex'));
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytesEqual(a, b) {
  return a.length === b.length && a.every((x, k) => x === b[k]);
}

/** unsigned big-endian comparison of equal-length byte strings (= lexicographic) */
export function compareBytes(a, b) {
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return a[k] - b[k];
  return a.length - b.length;
}

/** "32-byte hex" of protocol.md 1.3 rule 2: 0x + exactly 64 lower-case hex digits. */
export const HEX32 = /^0x[0-9a-f]{64}$/;

// ---- base58btc --------------------------------------------------------------------------------

export const BASE58_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const BASE58_RE = /^[123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz]+$/;

/** Decode multibase base58btc ("z" + base58). Returns null when not acceptable. */
export function decodeMultibaseZ(s, { allowEmpty = false } = {}) {
  if (typeof s !== 'string' || !s.startsWith('z')) return null;
  const body = s.slice(1);
  if (body.length === 0) return allowEmpty ? new Uint8Array(0) : null;
  if (!BASE58_RE.test(body)) return null;
  try {
    return base58.decode(body);
  } catch {
    return null;
  }
}

export const encodeBase58 = (bytes) => base58.encode(bytes);

// ---- did:key (4.4) ----------------------------------------------------------------------------

/** Decode a did:key of an Ed25519 key strictly; returns the 32 raw key bytes or null. */
export function decodeDidKey(did) {
  if (typeof did !== 'string' || !did.startsWith('did:key:')) return null;
  const bytes = decodeMultibaseZ(did.slice('did:key:'.length));
  if (!bytes || bytes.length !== 34 || bytes[0] !== 0xed || bytes[1] !== 0x01) return null;
  return bytes.slice(2);
}

// ---- CAIP-10 with EIP-55 (2.6) ----------------------------------------------------------------

const CAIP10 = /^eip155:(0|[1-9][0-9]{0,31}):(0x[0-9a-fA-F]{40})$/;

export function eip55(addressLower40) {
  const h = Buffer.from(keccak256(utf8(addressLower40))).toString('hex');
  let out = '';
  for (let k = 0; k < 40; k++) {
    const ch = addressLower40[k];
    out += /[a-f]/.test(ch) && parseInt(h[k], 16) >= 8 ? ch.toUpperCase() : ch;
  }
  return out;
}

/** Parse a CAIP-10 account; returns {chainId: BigInt, address: '0x' + 40 lower-case hex} or throws. */
export function parseCaip10(s) {
  if (typeof s !== 'string') throw new Error('not a string');
  const m = CAIP10.exec(s);
  if (!m) throw new Error('not a CAIP-10 eip155 account');
  const digits = m[2].slice(2);
  const lower = digits.toLowerCase();
  if (digits !== lower && digits !== digits.toUpperCase() && digits !== eip55(lower)) {
    throw new Error('wrong EIP-55 checksum');
  }
  return { chainId: BigInt(m[1]), address: '0x' + lower };
}
