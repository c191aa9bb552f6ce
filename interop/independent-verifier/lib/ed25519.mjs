// Ed25519 as protocol.md 4.5 (weak keys) and 4.6 (libsodium's rules: S < L, no small-order R,
// cofactorless equation) specify. Curve arithmetic comes from @noble/curves; the acceptance rules are
// written out here.

import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from './codec.mjs';

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

const mod = (a, m = P) => ((a % m) + m) % m;
function pow(b, e, m = P) {
  let r = 1n;
  b = mod(b, m);
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}
const inv = (a) => pow(a, P - 2n);
const D = mod(-121665n * inv(121666n));

export function intLE(bytes) {
  let x = 0n;
  for (let k = bytes.length - 1; k >= 0; k--) x = (x << 8n) | BigInt(bytes[k]);
  return x;
}

const Y8A = 2707385501144840649318225287225658788936804267575313519463743609750303402022n;
const Y8B = 55188659117513257062467267217118295137698188065244968500265048394206261417927n;
const SMALL_ORDER_Y = new Set([0n, 1n, P - 1n, Y8A, Y8B]);

/** Returns null when `raw` (32 bytes) is an acceptable key, else the reason it is weak (4.5). */
export function weakKeyReason(raw) {
  if (!(raw instanceof Uint8Array) || raw.length !== 32) return 'not 32 bytes';
  const y = intLE(raw) & (2n ** 255n - 1n);
  if (y >= P) return 'non-canonical encoding (y >= p)';
  if (SMALL_ORDER_Y.has(y)) return 'a point of small order';
  const y2 = (y * y) % P;
  const u = mod(y2 - 1n);
  const v = mod(D * y2 + 1n);
  const x2 = (u * inv(v)) % P;
  if (x2 !== 0n && pow(x2, (P - 1n) / 2n) !== 1n) return 'not a point of the curve';
  return null;
}

/**
 * 4.6 rule 2: true when the 32 bytes encode a point of small order, judged by the y coordinate (the
 * 255 low bits, little-endian) against the values of 4.5 rule 2, whatever the sign bit.
 */
export function isSmallOrderEncoding(bytes) {
  return SMALL_ORDER_Y.has(intLE(bytes) & (2n ** 255n - 1n));
}

/**
 * RFC 8032 Ed25519 verification as protocol.md 4.6 specifies it (libsodium's
 * crypto_sign_verify_detached): 1. S < L; 2. R is not the encoding of a point of small order;
 * 3. k = SHA-512(R || A || M) mod L; 4. accept exactly when encode([S]B - [k]A) == R (bytes, the
 * cofactorless equation).
 */
export function verifyEd25519(publicKey, message, signature) {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  const Rbytes = signature.slice(0, 32);
  const S = intLE(signature.slice(32, 64));
  if (S >= L) return false; // rule 1
  if (isSmallOrderEncoding(Rbytes)) return false; // rule 2
  let A;
  try {
    A = ed25519.Point.fromBytes(publicKey, false);
  } catch {
    return false;
  }
  // rule 3
  const k = intLE(sha512(new Uint8Array([...Rbytes, ...publicKey, ...message]))) % L;
  // rule 4
  const Rcheck = ed25519.Point.BASE.multiplyUnsafe(S).subtract(A.multiplyUnsafe(k)).toBytes();
  return Rcheck.length === 32 && Rcheck.every((b, i) => b === Rbytes[i]);
}
