// Just enough edwards25519 arithmetic (RFC 8032, BigInt) for the tests to check the registry's list
// of weak keys against the curve itself, rather than against a second copy of the list.
const P = 2n ** 255n - 19n;
const mod = (a) => ((a % P) + P) % P;
function pow(b, e) {
  let r = 1n;
  for (b = mod(b); e > 0n; e >>= 1n, b = (b * b) % P) if (e & 1n) r = (r * b) % P;
  return r;
}
const inv = (a) => pow(a, P - 2n);
const D = mod(-121665n * inv(121666n));
const SQRT_M1 = pow(2n, (P - 1n) / 4n);

/** Decodes a raw 32-byte encoding (0x-hex); null when it is not a canonical encoding of a curve point. */
function decode(hex) {
  const bytes = Buffer.from(hex.slice(2), "hex");
  const sign = bytes[31] >> 7;
  bytes[31] &= 0x7f;
  const y = BigInt("0x" + Buffer.from(bytes).reverse().toString("hex"));
  if (y >= P) return null;
  const x2 = mod((y * y - 1n) * inv(D * y * y + 1n));
  let x = pow(x2, (P + 3n) / 8n);
  if (mod(x * x - x2) !== 0n) x = mod(x * SQRT_M1);
  if (mod(x * x - x2) !== 0n) return null;
  if (x === 0n && sign === 1) return null; // "-0" is not a canonical encoding
  if (Number(x & 1n) !== sign) x = P - x;
  return { x, y };
}

/** Affine point addition on -x^2 + y^2 = 1 + d x^2 y^2 (complete for edwards25519). */
function add(a, b) {
  const t = mod(D * a.x * b.x * a.y * b.y);
  return {
    x: mod((a.x * b.y + a.y * b.x) * inv(1n + t)),
    y: mod((a.y * b.y + a.x * b.x) * inv(1n - t)),
  };
}

const isIdentity = (p) => p.x === 0n && p.y === 1n;
/** [8]p, by three doublings. */
const times8 = (p) => add(add(add(p, p), add(p, p)), add(add(p, p), add(p, p)));

module.exports = { P, decode, add, isIdentity, times8 };
