// Hard gas targets (CertLedger.sol header, protocol v2): anchor <= 60,000 whatever the count and the
// root's bytes, in any agency's namespace; revoke of one credential with a 17-step Merkle proof
// <= 90,000 (suspend and reinstate too). Measured on receipts; the figures are printed at the end.
const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture } = require("@nomicfoundation/hardhat-network-helpers");
const { deployFixture, randomDigests, prng, REVOKED } = require("./helpers");
const { buildTree, getProof, syntheticProof } = require("./merkle");

const ANCHOR_MAX = 60_000n;
const REVOKE_17_MAX = 90_000n;
const measured = [];

async function gasOf(txPromise) {
  const receipt = await (await txPromise).wait();
  return receipt.gasUsed;
}

describe("Gas targets", function () {
  this.timeout(300_000);
  let tree;
  let digests;

  before(function () {
    // A full tree of 2^17 leaves: every proof has exactly 17 steps.
    digests = randomDigests(2 ** 17);
    tree = buildTree(digests);
  });

  after(function () {
    if (measured.length) {
      console.log("\n    measured gas (receipt.gasUsed):");
      for (const [what, gas] of measured) console.log(`      ${what.padEnd(60)} ${gas.toLocaleString("en-US")}`);
    }
  });

  for (const count of [1n, 100_000n, 2n ** 32n - 1n]) {
    it(`anchor with count ${count} uses <= 60,000 gas`, async function () {
      const { ledger, opA } = await loadFixture(deployFixture);
      const gas = await gasOf(ledger.connect(opA).anchor(ethers.id(`root-${count}`), count));
      measured.push([`anchor (count ${count})`, gas]);
      expect(gas).to.be.lte(ANCHOR_MAX);
    });
  }

  it("anchor stays <= 60,000 gas for roots of any byte pattern, from any operator", async function () {
    const { ledger, opA, opA2, opB } = await loadFixture(deployFixture);
    const rnd = prng(17);
    let max = 0n;
    for (let i = 0; i < 20; i++) {
      const root = i === 0 ? "0x" + "ff".repeat(32) : rnd.bytes32();
      const gas = await gasOf(ledger.connect(rnd.pick([opA, opA2, opB])).anchor(root, 1 + rnd.int(2 ** 31)));
      if (gas > max) max = gas;
    }
    measured.push(["anchor (max of 20 random roots/counts/operators)", max]);
    expect(max).to.be.lte(ANCHOR_MAX);
  });

  it("anchor stays <= 60,000 gas at the worst calldata (all-0xff root, largest count), in a second namespace too", async function () {
    const { ledger, opA, opB } = await loadFixture(deployFixture);
    const root = "0x" + "ff".repeat(32);
    const first = await gasOf(ledger.connect(opA).anchor(root, 2n ** 32n - 1n));
    // the same root anchored by another agency: a fresh slot in its own namespace, the same cost
    const second = await gasOf(ledger.connect(opB).anchor(root, 2n ** 32n - 1n));
    measured.push(["anchor (root 0xff..ff, count 2^32-1)", first], ["anchor (the same root, second agency)", second]);
    for (const gas of [first, second]) expect(gas).to.be.lte(ANCHOR_MAX);
  });

  it("revoke with a 17-step proof (tree of 2^17 leaves) uses <= 90,000 gas", async function () {
    const { ledger, opA, A } = await loadFixture(deployFixture);
    await ledger.connect(opA).anchor(tree.root, digests.length);
    let max = 0n;
    for (const i of [0, 1, 77_777, 2 ** 17 - 1]) {
      const proof = getProof(tree, i);
      expect(proof.length).to.equal(17);
      const gas = await gasOf(ledger.connect(opA).revoke(digests[i], tree.root, proof, 3));
      expect((await ledger.statusOf(A, digests[i]))[0]).to.equal(BigInt(REVOKED));
      if (gas > max) max = gas;
    }
    measured.push(["revoke, 17-step proof (max of 4 leaves, active -> revoked)", max]);
    expect(max).to.be.lte(REVOKE_17_MAX);
  });

  it("suspend, reinstate and revoke-from-suspended with a 17-step proof also stay <= 90,000 gas", async function () {
    const { ledger, opA } = await loadFixture(deployFixture);
    await ledger.connect(opA).anchor(tree.root, digests.length);
    const i = 4242;
    const proof = getProof(tree, i);
    const s = await gasOf(ledger.connect(opA).suspend(digests[i], tree.root, proof, 5));
    const r = await gasOf(ledger.connect(opA).reinstate(digests[i], tree.root, proof, 4));
    await ledger.connect(opA).suspend(digests[i], tree.root, proof, 5);
    const v = await gasOf(ledger.connect(opA).revoke(digests[i], tree.root, proof, 3));
    measured.push(["suspend, 17-step proof", s], ["reinstate, 17-step proof", r], ["revoke from suspended, 17-step proof", v]);
    for (const gas of [s, r, v]) expect(gas).to.be.lte(REVOKE_17_MAX);
  });

  it("revoke, suspend and reinstate with a 17-step proof of a root another agency also anchored stay <= 90,000 gas", async function () {
    const { ledger, opA, opB, A, B } = await loadFixture(deployFixture);
    await ledger.connect(opA).anchor(tree.root, digests.length);
    await ledger.connect(opB).anchor(tree.root, digests.length);
    const i = 99_999;
    const proof = getProof(tree, i);
    await ledger.connect(opA).revoke(digests[i], tree.root, proof, 3); // A's record already set: B's slots are fresh
    const s = await gasOf(ledger.connect(opB).suspend(digests[i], tree.root, proof, 5));
    const r = await gasOf(ledger.connect(opB).reinstate(digests[i], tree.root, proof, 4));
    const v = await gasOf(ledger.connect(opB).revoke(digests[i], tree.root, proof, 3));
    expect((await ledger.statusOf(A, digests[i]))[0]).to.equal(BigInt(REVOKED));
    expect((await ledger.statusOf(B, digests[i]))[0]).to.equal(BigInt(REVOKED));
    measured.push(["suspend / reinstate / revoke, 17-step proof, second agency (max)", [s, r, v].reduce((x, y) => (x > y ? x : y))]);
    for (const gas of [s, r, v]) expect(gas).to.be.lte(REVOKE_17_MAX);
  });

  it("revoke with a synthetic 17-step proof of all-nonzero bytes uses <= 90,000 gas", async function () {
    // Calldata cost grows with non-zero bytes: make every byte of digest, siblings and reason non-zero.
    const { ledger, opA } = await loadFixture(deployFixture);
    const rnd = prng(99);
    const nonzero = () => ethers.hexlify(Uint8Array.from({ length: 32 }, () => 1 + rnd.int(255)));
    const digest = nonzero();
    const { proof, root } = syntheticProof(digest, Array.from({ length: 17 }, nonzero));
    await ledger.connect(opA).anchor(root, 2 ** 17);
    const gas = await gasOf(ledger.connect(opA).revoke(digest, root, proof, 255));
    measured.push(["revoke, synthetic 17-step proof (non-zero calldata)", gas]);
    expect(gas).to.be.lte(REVOKE_17_MAX);
  });

  it("revokeMany amortises the registry call (informational, 10 credentials x 17 steps)", async function () {
    const { ledger, opA } = await loadFixture(deployFixture);
    await ledger.connect(opA).anchor(tree.root, digests.length);
    const idx = Array.from({ length: 10 }, (_, k) => k * 13_000 + 5);
    const gas = await gasOf(
      ledger.connect(opA).revokeMany(
        idx.map((i) => digests[i]),
        idx.map(() => tree.root),
        idx.map((i) => getProof(tree, i)),
        1,
      ),
    );
    measured.push(["revokeMany, 10 x 17-step proofs (total)", gas]);
    expect(gas).to.be.lte(REVOKE_17_MAX * 10n);
  });
});
