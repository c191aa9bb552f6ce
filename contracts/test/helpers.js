// Shared fixtures for the contract tests.
const crypto = require("crypto");
const { ethers } = require("hardhat");
const { buildTree, getProof } = require("./merkle");

const ADMIN_ROLE = ethers.ZeroHash; // AccessControl DEFAULT_ADMIN_ROLE
const ACTIVE = 0;
const SUSPENDED = 1;
const REVOKED = 2;
const CODE_A = "zj-hz-education";
const CODE_B = "sh-civil-affairs";
const NAME_A = "杭州市教育局 Hangzhou Education Bureau";
const NAME_B = "上海市民政局 Shanghai Civil Affairs Bureau";
const agencyIdOf = (code) => ethers.keccak256(ethers.toUtf8Bytes(code));
const typeIdOf = (name) => ethers.keccak256(ethers.toUtf8Bytes(name));

/**
 * Raw Ed25519 encodings (little-endian y, sign of x in the top bit of the last byte) of the small-order
 * points, sign bit clear: y = 0, 1, p-1 and the two order-8 y values. The registry refuses each of
 * them, with the sign bit clear or set (`withSignBit`).
 */
const SMALL_ORDER_KEYS = {
  "y=0": "0x0000000000000000000000000000000000000000000000000000000000000000",
  "y=1": "0x0100000000000000000000000000000000000000000000000000000000000000",
  "y=p-1": "0xecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "order 8 (a)": "0x26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "order 8 (b)": "0xc7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
};
/** The same encoding with the sign bit (0x80 of the last byte) set. */
const withSignBit = (key) => key.slice(0, 64) + (parseInt(key.slice(64), 16) | 0x80).toString(16).padStart(2, "0");
/** Every weak encoding the registry must refuse: each small-order y with both signs. */
const WEAK_KEYS = Object.values(SMALL_ORDER_KEYS).flatMap((k) => [k, withSignBit(k)]);
/** The little-endian encoding of y (< 2^255) as a bytes32, sign bit clear. */
const encodeY = (y) => "0x" + Buffer.from(y.toString(16).padStart(64, "0"), "hex").reverse().toString("hex");

/** A fresh Ed25519 public key, raw 32 bytes as a bytes32 (a real point: the registry accepts it). */
function ed25519PublicKey() {
  const { publicKey } = crypto.generateKeyPairSync("ed25519");
  return "0x" + Buffer.from(publicKey.export({ format: "jwk" }).x, "base64url").toString("hex");
}

/** mulberry32: a tiny seeded PRNG so randomised tests are reproducible. */
function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  const pick = (xs) => xs[int(xs.length)];
  const bytes32 = () => ethers.hexlify(Uint8Array.from({ length: 32 }, () => int(256)));
  return { next, int, pick, bytes32 };
}

/** Random 32-byte digests; one crypto call for all of them, as big trees need 2^17. */
function randomDigests(n) {
  const buf = crypto.randomBytes(32 * n);
  return Array.from({ length: n }, (_, i) => "0x" + buf.toString("hex", 32 * i, 32 * (i + 1)));
}
const randomDigest = () => randomDigests(1)[0];

/**
 * Registry with agencies A (operators opA, opA2) and B (operator opB), and a ledger on top.
 * `gov` holds the admin role; `stranger` is nobody.
 */
async function deployFixture() {
  const [gov, opA, opA2, opB, stranger, extra] = await ethers.getSigners();
  const registry = await ethers.deployContract("CertRegistry", [gov.address]);
  const ledger = await ethers.deployContract("CertLedger", [await registry.getAddress()]);
  const A = agencyIdOf(CODE_A);
  const B = agencyIdOf(CODE_B);
  await registry.registerAgency(CODE_A, NAME_A);
  await registry.registerAgency(CODE_B, NAME_B);
  await registry.addOperator(A, opA.address);
  await registry.addOperator(A, opA2.address);
  await registry.addOperator(B, opB.address);
  return { registry, ledger, gov, opA, opA2, opB, stranger, extra, A, B };
}

/** Anchors `digests` as one batch from `signer`; returns the tree, root and every proof. */
async function anchorBatch(ledger, signer, digests) {
  const tree = buildTree(digests);
  const tx = await ledger.connect(signer).anchor(tree.root, digests.length);
  const receipt = await tx.wait();
  const proofs = digests.map((_, i) => getProof(tree, i));
  return { tree, root: tree.root, proofs, digests, receipt };
}

/** Block timestamp of a mined transaction receipt. */
async function blockTime(receipt) {
  return (await ethers.provider.getBlock(receipt.blockNumber)).timestamp;
}

module.exports = {
  ADMIN_ROLE,
  ACTIVE,
  SUSPENDED,
  REVOKED,
  CODE_A,
  CODE_B,
  NAME_A,
  NAME_B,
  SMALL_ORDER_KEYS,
  WEAK_KEYS,
  withSignBit,
  encodeY,
  ed25519PublicKey,
  agencyIdOf,
  typeIdOf,
  prng,
  randomDigest,
  randomDigests,
  deployFixture,
  anchorBatch,
  blockTime,
};
