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
const agencyIdOf = (code) => ethers.keccak256(ethers.toUtf8Bytes(code));
const typeIdOf = (name) => ethers.keccak256(ethers.toUtf8Bytes(name));

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
  await registry.registerAgency(CODE_A);
  await registry.registerAgency(CODE_B);
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
  agencyIdOf,
  typeIdOf,
  prng,
  randomDigest,
  randomDigests,
  deployFixture,
  anchorBatch,
  blockTime,
};
