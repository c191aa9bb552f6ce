// Protocol v2: every chain record lives in the namespace of one agency. These tests replay the v1
// attacks that motivated it, and check that nothing an operator of agency B does changes anything a
// verifier reads for agency A: anchorOf(A,·), statusOf(A,·), rootStatusOf(A,·), credentialStatus(A,·,·),
// keyOf(A,·), agencyInfo(A), isPermitted(A,·).
const { expect } = require("chai");
const { ethers, network } = require("hardhat");
const { loadFixture, time } = require("@nomicfoundation/hardhat-network-helpers");
const {
  ACTIVE, SUSPENDED, REVOKED, CODE_A, NAME_A, deployFixture, anchorBatch, blockTime, randomDigests, randomDigest,
  ed25519PublicKey, typeIdOf,
} = require("./helpers");
const { buildTree, getProof } = require("./merkle");

const DEGREE = typeIdOf("DegreeCertificate");

/** Agency A with two anchored batches (one with a suspended and a revoked credential) and a key. */
async function agencyAFixture() {
  const f = await deployFixture();
  const { registry, ledger, opA, A } = f;
  await registry.setTypePermitted(A, DEGREE, true);
  const keyA = ed25519PublicKey();
  await registry.connect(opA).addKey(A, keyA, 0);
  const batch1 = await anchorBatch(ledger, opA, randomDigests(6));
  const batch2 = await anchorBatch(ledger, opA, randomDigests(3));
  await ledger.connect(opA).suspend(batch1.digests[1], batch1.root, batch1.proofs[1], 5);
  await ledger.connect(opA).revoke(batch1.digests[2], batch1.root, batch1.proofs[2], 3);
  return { ...f, keyA, batch1, batch2 };
}

/** Everything a verifier reads about agency A for these batches, keys and extra roots. */
async function viewOfA({ registry, ledger, A }, batches, keys = [], extraRoots = []) {
  const view = { agency: [...(await registry.agencyInfo(A))], permitted: await registry.isPermitted(A, DEGREE), roots: {}, digests: {}, keys: {} };
  for (const r of [...batches.map((b) => b.root), ...extraRoots]) {
    view.roots[r] = { anchor: [...(await ledger.anchorOf(A, r))], status: [...(await ledger.rootStatusOf(A, r))] };
  }
  for (const b of batches) {
    for (const d of b.digests) {
      view.digests[d] = { status: [...(await ledger.statusOf(A, d))], inBatch: [...(await ledger.credentialStatus(A, d, b.root))] };
    }
  }
  for (const k of keys) view.keys[k] = [...(await registry.keyOf(A, k))];
  return view;
}

describe("Agency namespaces (protocol v2): nothing agency B does changes what agency A's credentials read", function () {
  describe("v1 attack 1: B anchors a root containing A's (public) digest, then revokes or suspends that digest", function () {
    it("after A's anchor: B's revoke, suspend, reinstate (one and many) change only B's records", async function () {
      const f = await loadFixture(agencyAFixture);
      const { ledger, opA, opB, A, B, batch1, batch2 } = f;
      const before = await viewOfA(f, [batch1, batch2]);
      // B's root holds A's active, suspended and revoked digests
      const shared = [batch1.digests[0], batch1.digests[1], batch1.digests[2], batch2.digests[0]];
      const rogue = await anchorBatch(ledger, opB, [...shared, randomDigest()]);
      await ledger.connect(opB).revoke(shared[0], rogue.root, rogue.proofs[0], 3);
      await ledger.connect(opB).suspend(shared[1], rogue.root, rogue.proofs[1], 5);
      await ledger.connect(opB).reinstate(shared[1], rogue.root, rogue.proofs[1], 0);
      await ledger.connect(opB).suspend(shared[2], rogue.root, rogue.proofs[2], 5);
      await ledger.connect(opB).revokeMany([shared[2], shared[3]], [rogue.root, rogue.root], [rogue.proofs[2], rogue.proofs[3]], 1);
      expect(await viewOfA(f, [batch1, batch2])).to.deep.equal(before);
      // B's own namespace holds what B did
      for (const d of [shared[0], shared[2], shared[3]]) expect((await ledger.statusOf(B, d))[0]).to.equal(BigInt(REVOKED));
      expect((await ledger.statusOf(B, shared[1]))[0]).to.equal(BigInt(ACTIVE));
      // and A still manages its credentials by its own rules
      await expect(ledger.connect(opA).revoke(shared[0], batch1.root, batch1.proofs[0], 2))
        .to.emit(ledger, "StatusChanged").withArgs(A, shared[0], REVOKED, 2);
      await expect(ledger.connect(opA).reinstate(shared[1], batch1.root, batch1.proofs[1], 0))
        .to.emit(ledger, "StatusChanged").withArgs(A, shared[1], ACTIVE, 0);
      await expect(ledger.connect(opA).suspend(shared[3], batch2.root, batch2.proofs[0], 4))
        .to.emit(ledger, "StatusChanged").withArgs(A, shared[3], SUSPENDED, 4);
    });

    it("before A's anchor: B's records of the digest do not carry over into A's namespace", async function () {
      const f = await loadFixture(deployFixture);
      const { ledger, opA, opB, A, B } = f;
      const digests = randomDigests(4);
      // B anchors and revokes first (a digest it learned, or guessed, before A anchored)
      const rogue = await anchorBatch(ledger, opB, [digests[0], digests[1]]);
      await ledger.connect(opB).revoke(digests[0], rogue.root, rogue.proofs[0], 3);
      await ledger.connect(opB).suspend(digests[1], rogue.root, rogue.proofs[1], 5);
      await ledger.connect(opB).revokeRoot(rogue.root, 2);
      const batch = await anchorBatch(ledger, opA, digests);
      for (const d of digests) {
        expect(await ledger.statusOf(A, d)).to.deep.equal([0n, 0n, 0n]);
        expect(await ledger.credentialStatus(A, d, batch.root)).to.deep.equal([0n, 0n, 0n]);
        expect(await ledger.credentialStatus(A, d, rogue.root)).to.deep.equal([0n, 0n, 0n]); // B's revoked root is B's
      }
      // A may still suspend, reinstate and revoke each of them
      await ledger.connect(opA).suspend(digests[0], batch.root, batch.proofs[0], 1);
      await ledger.connect(opA).reinstate(digests[0], batch.root, batch.proofs[0], 1);
      await expect(ledger.connect(opA).revoke(digests[1], batch.root, batch.proofs[1], 1))
        .to.emit(ledger, "StatusChanged").withArgs(A, digests[1], REVOKED, 1);
      expect((await ledger.statusOf(B, digests[0]))[0]).to.equal(BigInt(REVOKED));
    });
  });

  describe("v1 attack 2: B copies A's root from the mempool and anchors it first", function () {
    it("both anchors succeed in the same block, B's first; A's anchor record is A's own", async function () {
      const { ledger, opA, opB, A, B } = await loadFixture(deployFixture);
      const digests = randomDigests(5);
      const tree = buildTree(digests);
      await network.provider.send("evm_setAutomine", [false]);
      let txA;
      let txB;
      try {
        txA = await ledger.connect(opA).anchor(tree.root, 5, { maxPriorityFeePerGas: 1_000_000_000n });
        // the front-runner pays more, so it is ordered first
        txB = await ledger.connect(opB).anchor(tree.root, 5, { maxPriorityFeePerGas: 50_000_000_000n });
        await network.provider.send("evm_mine", []);
      } finally {
        await network.provider.send("evm_setAutomine", [true]);
      }
      const [ra, rb] = [await txA.wait(), await txB.wait()];
      expect([ra.status, rb.status]).to.deep.equal([1, 1]);
      expect(ra.blockNumber).to.equal(rb.blockNumber);
      expect(rb.index).to.be.lessThan(ra.index); // B's transaction really came first
      const t = BigInt(await blockTime(ra));
      expect(await ledger.anchorOf(A, tree.root)).to.deep.equal([t, BigInt(ra.blockNumber), 5n]);
      expect(await ledger.anchorOf(B, tree.root)).to.deep.equal([t, BigInt(rb.blockNumber), 5n]);
      await expect(txA).to.emit(ledger, "Anchored").withArgs(A, tree.root, 5, opA.address);
    });

    it("B's anchor of A's root, before or after A's, and B's revocations in it leave A's batch as it was", async function () {
      const f = await loadFixture(agencyAFixture);
      const { ledger, opA, opB, A, B, batch1 } = f;
      // before: B anchors a root A is about to anchor
      const next = randomDigests(4);
      const tree = buildTree(next);
      await ledger.connect(opB).anchor(tree.root, 4);
      await time.increase(30);
      const mine = await (await ledger.connect(opA).anchor(tree.root, 4)).wait();
      const batch3 = { root: tree.root, digests: next, proofs: next.map((_, i) => getProof(tree, i)) };
      expect(await ledger.anchorOf(A, tree.root)).to.deep.equal([BigInt(await blockTime(mine)), BigInt(mine.blockNumber), 4n]);
      // after: B anchors A's existing root too
      await ledger.connect(opB).anchor(batch1.root, 6);
      const before = await viewOfA(f, [batch1, batch3]);
      // B acts on its copies: single and batch changes, then revokes both roots in its namespace
      await ledger.connect(opB).revoke(batch1.digests[0], batch1.root, batch1.proofs[0], 3);
      await ledger.connect(opB).suspendMany([next[0], next[1]], [tree.root, tree.root], [batch3.proofs[0], batch3.proofs[1]], 5);
      await ledger.connect(opB).revokeRoot(batch1.root, 2);
      await ledger.connect(opB).revokeRoot(tree.root, 2);
      expect(await viewOfA(f, [batch1, batch3])).to.deep.equal(before);
      expect((await ledger.rootStatusOf(B, batch1.root))[0]).to.equal(BigInt(REVOKED));
      // A's batches stay usable by A
      await expect(ledger.connect(opA).suspend(next[0], tree.root, batch3.proofs[0], 5))
        .to.emit(ledger, "StatusChanged").withArgs(A, next[0], SUSPENDED, 5);
      await expect(ledger.connect(opA).revokeRoot(batch1.root, 1)).to.emit(ledger, "RootStatusChanged").withArgs(A, batch1.root, REVOKED, 1);
      // and a second anchor of the root in A's own namespace is still refused: anchor time never moves
      await expect(ledger.connect(opA).anchor(tree.root, 4)).to.be.revertedWithCustomError(ledger, "AlreadyAnchored").withArgs(A, tree.root);
    });
  });

  describe("v1 attack 3: B registers A's public key first (key squatting)", function () {
    it("A registers its key all the same; B's registration and revocation of those bytes change nothing of A's", async function () {
      const { registry, opA, opB, A, B } = await loadFixture(deployFixture);
      const key = ed25519PublicKey();
      await registry.connect(opB).addKey(B, key, 0);
      await time.increase(100);
      const tx = await registry.connect(opA).addKey(A, key, 0);
      await expect(tx).to.emit(registry, "KeyAdded");
      const validFrom = BigInt(await blockTime(await tx.wait()));
      expect(await registry.keyOf(A, key)).to.deep.equal([validFrom, 0n]);
      // B revokes its copy as of a past time (a "compromise"), then earlier still
      const [vfB] = await registry.keyOf(B, key);
      await registry.connect(opB).revokeKey(B, key, vfB + 50n);
      await registry.connect(opB).revokeKey(B, key, vfB);
      expect(await registry.keyOf(A, key)).to.deep.equal([validFrom, 0n]);
      // B cannot reach A's record of it directly either
      await expect(registry.connect(opB).revokeKey(A, key, 0)).to.be.revertedWithCustomError(registry, "NotAgencyOperator").withArgs(opB.address, A);
      await expect(registry.connect(opB).addKey(A, key, 1)).to.be.revertedWithCustomError(registry, "NotAgencyOperator").withArgs(opB.address, A);
      expect(await registry.keyOf(A, key)).to.deep.equal([validFrom, 0n]);
    });
  });

  it("B revokeRoot of a root A also anchored: rootStatusOf(A, root) and credentialStatus(A, ·, root) are unchanged", async function () {
    const f = await loadFixture(agencyAFixture);
    const { ledger, opB, A, B, batch2 } = f;
    await ledger.connect(opB).anchor(batch2.root, 3);
    const before = await viewOfA(f, [batch2]);
    await expect(ledger.connect(opB).revokeRoot(batch2.root, 2)).to.emit(ledger, "RootStatusChanged").withArgs(B, batch2.root, REVOKED, 2);
    expect(await viewOfA(f, [batch2])).to.deep.equal(before);
    expect(await ledger.rootStatusOf(A, batch2.root)).to.deep.equal([0n, 0n, 0n]);
    for (const d of batch2.digests) {
      expect(await ledger.credentialStatus(A, d, batch2.root)).to.deep.equal([0n, 0n, 0n]);
      expect((await ledger.credentialStatus(B, d, batch2.root))[0]).to.equal(BigInt(REVOKED));
    }
  });

  it("everything B's operator can do at once leaves A's whole view unchanged", async function () {
    const f = await loadFixture(agencyAFixture);
    const { registry, ledger, opB, A, B, keyA, batch1, batch2 } = f;
    const otherKey = ed25519PublicKey();
    const unanchored = ethers.id("A's next root");
    const before = await viewOfA(f, [batch1, batch2], [keyA, otherKey], [unanchored]);
    expect(before.agency).to.deep.equal([CODE_A, NAME_A, true]);

    // anchors: A's roots, a root A has not anchored yet, and a root of A's digests
    for (const b of [batch1, batch2]) await ledger.connect(opB).anchor(b.root, b.digests.length);
    await ledger.connect(opB).anchor(unanchored, 1);
    const rogue = await anchorBatch(ledger, opB, [...batch1.digests, ...batch2.digests]);
    // every status change B can make on those digests, in its namespace
    const all = [...batch1.digests, ...batch2.digests];
    const proofsIn = (b, i) => [b.digests[i], b.root, b.proofs[i]];
    for (let i = 0; i < all.length; i++) {
      const [d, r, p] = i % 2 ? proofsIn(rogue, i) : i < 6 ? proofsIn(batch1, i) : proofsIn(batch2, i - 6);
      await ledger.connect(opB).suspend(d, r, p, 5);
      if (i % 3 === 0) await ledger.connect(opB).reinstate(d, r, p, 0);
      if (i % 3 === 1) await ledger.connect(opB).revoke(d, r, p, 3);
    }
    for (const r of [batch1.root, batch2.root, unanchored, rogue.root]) await ledger.connect(opB).revokeRoot(r, 2);
    // keys: A's key bytes and one A has not registered yet, added and revoked in B's namespace
    for (const k of [keyA, otherKey]) {
      await registry.connect(opB).addKey(B, k, 0);
      await registry.connect(opB).revokeKey(B, k, 0);
    }
    // and every direct write to A's namespace is refused
    await expect(registry.connect(opB).addKey(A, otherKey, 0)).to.be.revertedWithCustomError(registry, "NotAgencyOperator");
    await expect(registry.connect(opB).revokeKey(A, keyA, 0)).to.be.revertedWithCustomError(registry, "NotAgencyOperator");
    await expect(registry.connect(opB).setAgencyName(A, "x")).to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount");
    await expect(registry.connect(opB).setAgencyActive(A, false)).to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount");
    await expect(registry.connect(opB).setTypePermitted(A, DEGREE, false)).to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount");

    expect(await viewOfA(f, [batch1, batch2], [keyA, otherKey], [unanchored])).to.deep.equal(before);
    expect((await ledger.anchorOf(B, unanchored))[1]).to.not.equal(0n);
    expect(await ledger.anchorOf(A, unanchored)).to.deep.equal([0n, 0n, 0n]);
  });
});
