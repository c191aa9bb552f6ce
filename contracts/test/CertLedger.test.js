const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture, time } = require("@nomicfoundation/hardhat-network-helpers");
const { ACTIVE, SUSPENDED, REVOKED, deployFixture, anchorBatch, blockTime, randomDigests, randomDigest } = require("./helpers");
const { buildTree, getProof, leafHash } = require("./merkle");

const REASON = { unspecified: 0, superseded: 1, error: 2, compromise: 3, holder: 4, admin: 5 };

/** A and B each anchored a batch: A's of 5 credentials (odd, so a node is carried), B's of 4. */
async function anchoredFixture() {
  const f = await deployFixture();
  const batchA = await anchorBatch(f.ledger, f.opA, randomDigests(5));
  const batchB = await anchorBatch(f.ledger, f.opB, randomDigests(4));
  return { ...f, batchA, batchB };
}

async function expectStatus(ledger, agencyId, digest, state, reason, since) {
  expect(await ledger.statusOf(agencyId, digest)).to.deep.equal([BigInt(state), BigInt(reason), BigInt(since)]);
}

describe("CertLedger", function () {
  describe("deployment", function () {
    it("exposes the registry it reads", async function () {
      const { ledger, registry } = await loadFixture(deployFixture);
      expect(await ledger.registry()).to.equal(await registry.getAddress());
    });
  });

  describe("anchor", function () {
    it("stores block time, block number and count under the caller's agency; emits Anchored(agencyId, root, count, operator)", async function () {
      const { ledger, opA, A, B } = await loadFixture(deployFixture);
      const root = ethers.id("root-1");
      const tx = await ledger.connect(opA).anchor(root, 42);
      const receipt = await tx.wait();
      await expect(tx).to.emit(ledger, "Anchored").withArgs(A, root, 42, opA.address);
      expect(await ledger.anchorOf(A, root)).to.deep.equal([BigInt(await blockTime(receipt)), BigInt(receipt.blockNumber), 42n]);
      expect(await ledger.anchorOf(B, root)).to.deep.equal([0n, 0n, 0n]); // another agency's namespace
    });

    it("reports zeros for a root never anchored", async function () {
      const { ledger, A } = await loadFixture(deployFixture);
      expect(await ledger.anchorOf(A, ethers.id("nothing"))).to.deep.equal([0n, 0n, 0n]);
      expect(await ledger.anchorOf(A, ethers.ZeroHash)).to.deep.equal([0n, 0n, 0n]);
      expect(await ledger.anchorOf(ethers.ZeroHash, ethers.id("nothing"))).to.deep.equal([0n, 0n, 0n]);
    });

    it("keeps each agency's anchors in its own namespace", async function () {
      const { ledger, A, B, batchA, batchB } = await loadFixture(anchoredFixture);
      expect((await ledger.anchorOf(A, batchA.root))[2]).to.equal(5n);
      expect((await ledger.anchorOf(B, batchB.root))[2]).to.equal(4n);
      expect(await ledger.anchorOf(B, batchA.root)).to.deep.equal([0n, 0n, 0n]);
      expect(await ledger.anchorOf(A, batchB.root)).to.deep.equal([0n, 0n, 0n]);
    });

    it("any operator of the agency may anchor", async function () {
      const { ledger, opA2, A } = await loadFixture(deployFixture);
      const root = ethers.id("root-2");
      await expect(ledger.connect(opA2).anchor(root, 1)).to.emit(ledger, "Anchored").withArgs(A, root, 1, opA2.address);
    });

    it("accepts the largest count", async function () {
      const { ledger, opA, A } = await loadFixture(deployFixture);
      const root = ethers.id("big");
      await expect(ledger.connect(opA).anchor(root, 2n ** 32n - 1n))
        .to.emit(ledger, "Anchored")
        .withArgs(A, root, 2n ** 32n - 1n, opA.address);
      expect((await ledger.anchorOf(A, root))[2]).to.equal(2n ** 32n - 1n);
    });

    it("a non-operator cannot anchor (strangers, governance, removed operators)", async function () {
      const { ledger, registry, gov, opA, stranger, A } = await loadFixture(deployFixture);
      await registry.removeOperator(opA.address);
      for (const who of [stranger, gov, opA]) {
        await expect(ledger.connect(who).anchor(ethers.id("r"), 1))
          .to.be.revertedWithCustomError(ledger, "NotOperator")
          .withArgs(who.address);
      }
      for (const id of [A, ethers.ZeroHash]) expect(await ledger.anchorOf(id, ethers.id("r"))).to.deep.equal([0n, 0n, 0n]);
    });

    it("a root cannot be anchored twice by the same agency, by any of its operators (AlreadyAnchored(agencyId, root))", async function () {
      const { ledger, opA, opA2, A } = await loadFixture(deployFixture);
      const root = ethers.id("once");
      const tx = await ledger.connect(opA).anchor(root, 3);
      const receipt = await tx.wait();
      const before = await ledger.anchorOf(A, root);
      await time.increase(60);
      for (const [who, count] of [[opA, 3], [opA2, 3], [opA2, 7]]) {
        await expect(ledger.connect(who).anchor(root, count)).to.be.revertedWithCustomError(ledger, "AlreadyAnchored").withArgs(A, root);
      }
      expect(await ledger.anchorOf(A, root)).to.deep.equal(before); // anchor time never moves
      expect(before[1]).to.equal(BigInt(receipt.blockNumber));
    });

    it("the same root anchored by another agency is a separate record (afterwards too: AlreadyAnchored only in its namespace)", async function () {
      const { ledger, opA, opB, A, B } = await loadFixture(deployFixture);
      const root = ethers.id("shared");
      const a = await (await ledger.connect(opA).anchor(root, 3)).wait();
      await time.increase(60);
      const tx = await ledger.connect(opB).anchor(root, 9);
      await expect(tx).to.emit(ledger, "Anchored").withArgs(B, root, 9, opB.address);
      const b = await tx.wait();
      expect(await ledger.anchorOf(A, root)).to.deep.equal([BigInt(await blockTime(a)), BigInt(a.blockNumber), 3n]);
      expect(await ledger.anchorOf(B, root)).to.deep.equal([BigInt(await blockTime(b)), BigInt(b.blockNumber), 9n]);
      await expect(ledger.connect(opB).anchor(root, 9)).to.be.revertedWithCustomError(ledger, "AlreadyAnchored").withArgs(B, root);
    });

    it("a deactivated agency cannot anchor; after reactivation it can", async function () {
      const { ledger, registry, opA, A, opB } = await loadFixture(deployFixture);
      await registry.setAgencyActive(A, false);
      await expect(ledger.connect(opA).anchor(ethers.id("r"), 1)).to.be.revertedWithCustomError(ledger, "AgencyInactive").withArgs(A);
      await expect(ledger.connect(opB).anchor(ethers.id("rb"), 1)).to.emit(ledger, "Anchored"); // B unaffected
      await registry.setAgencyActive(A, true);
      await expect(ledger.connect(opA).anchor(ethers.id("r"), 1)).to.emit(ledger, "Anchored").withArgs(A, ethers.id("r"), 1, opA.address);
    });

    it("refuses the zero root and an empty batch", async function () {
      const { ledger, opA, A } = await loadFixture(deployFixture);
      await expect(ledger.connect(opA).anchor(ethers.ZeroHash, 1)).to.be.revertedWithCustomError(ledger, "ZeroRoot");
      await expect(ledger.connect(opA).anchor(ethers.id("r"), 0)).to.be.revertedWithCustomError(ledger, "EmptyBatch");
      expect(await ledger.anchorOf(A, ethers.id("r"))).to.deep.equal([0n, 0n, 0n]);
    });
  });

  describe("revoke", function () {
    it("revokes a credential proven against its agency's root; emits StatusChanged with the exact fields", async function () {
      const { ledger, opA, A, batchA } = await loadFixture(anchoredFixture);
      const d = batchA.digests[4]; // the carried-up odd leaf
      const tx = await ledger.connect(opA).revoke(d, batchA.root, batchA.proofs[4], REASON.compromise);
      await expect(tx).to.emit(ledger, "StatusChanged").withArgs(A, d, REVOKED, REASON.compromise);
      await expectStatus(ledger, A, d, REVOKED, REASON.compromise, await blockTime(await tx.wait()));
      // the other credentials of the batch are untouched
      await expectStatus(ledger, A, batchA.digests[0], ACTIVE, 0, 0);
    });

    it("revokes a suspended credential", async function () {
      const { ledger, opA, opA2, A, batchA } = await loadFixture(anchoredFixture);
      const [d, p] = [batchA.digests[1], batchA.proofs[1]];
      await ledger.connect(opA).suspend(d, batchA.root, p, REASON.admin);
      // any operator of the same agency may act on its credentials
      const tx = await ledger.connect(opA2).revoke(d, batchA.root, p, REASON.error);
      await expect(tx).to.emit(ledger, "StatusChanged").withArgs(A, d, REVOKED, REASON.error);
      await expectStatus(ledger, A, d, REVOKED, REASON.error, await blockTime(await tx.wait()));
    });

    it("a revoked credential cannot be revoked, suspended or reinstated again", async function () {
      const { ledger, opA, A, batchA } = await loadFixture(anchoredFixture);
      const [d, p] = [batchA.digests[0], batchA.proofs[0]];
      const tx = await ledger.connect(opA).revoke(d, batchA.root, p, REASON.superseded);
      const t = await blockTime(await tx.wait());
      for (const fn of ["revoke", "suspend", "reinstate"]) {
        await expect(ledger.connect(opA)[fn](d, batchA.root, p, REASON.holder))
          .to.be.revertedWithCustomError(ledger, "CredentialRevoked")
          .withArgs(d);
      }
      await expectStatus(ledger, A, d, REVOKED, REASON.superseded, t);
    });

    it("one-leaf batch: root == leaf, empty proof", async function () {
      const { ledger, opA, A } = await loadFixture(deployFixture);
      const d = randomDigest();
      const { root, proofs } = await anchorBatch(ledger, opA, [d]);
      expect(root).to.equal(leafHash(d));
      expect(proofs[0]).to.deep.equal([]);
      await expect(ledger.connect(opA).suspend(d, root, [], 0)).to.emit(ledger, "StatusChanged").withArgs(A, d, SUSPENDED, 0);
      await expect(ledger.connect(opA).reinstate(d, root, [], 0)).to.emit(ledger, "StatusChanged").withArgs(A, d, ACTIVE, 0);
      await expect(ledger.connect(opA).revoke(d, root, [], 1)).to.emit(ledger, "StatusChanged").withArgs(A, d, REVOKED, 1);
      // the digest itself is not the root: a one-leaf root is keccak256(digest)
      await expect(ledger.connect(opA).revoke(root, root, [], 1)).to.be.revertedWithCustomError(ledger, "InvalidProof").withArgs(root, root);
    });

    it("agency B cannot revoke, suspend or reinstate agency A's credential, even with a valid proof of A's root", async function () {
      const { ledger, opA, opB, A, B, batchA } = await loadFixture(anchoredFixture);
      const [d, p] = [batchA.digests[2], batchA.proofs[2]];
      for (const fn of ["revoke", "suspend", "reinstate"]) {
        // B's call acts on B's namespace, where A's root was never anchored
        await expect(ledger.connect(opB)[fn](d, batchA.root, p, 0))
          .to.be.revertedWithCustomError(ledger, "RootNotAnchored")
          .withArgs(B, batchA.root);
      }
      await ledger.connect(opA).suspend(d, batchA.root, p, 0);
      await expect(ledger.connect(opB).reinstate(d, batchA.root, p, 0))
        .to.be.revertedWithCustomError(ledger, "RootNotAnchored")
        .withArgs(B, batchA.root);
      expect((await ledger.statusOf(A, d))[0]).to.equal(BigInt(SUSPENDED));
    });

    it("agency B revoking A's (public) digest through a root of its own changes only B's record", async function () {
      const { ledger, opA, opB, A, B, batchA } = await loadFixture(anchoredFixture);
      const [d, p] = [batchA.digests[1], batchA.proofs[1]];
      const rogue = await anchorBatch(ledger, opB, [d, randomDigest(), randomDigest()]);
      const tx = await ledger.connect(opB).revoke(d, rogue.root, rogue.proofs[0], 0);
      await expect(tx).to.emit(ledger, "StatusChanged").withArgs(B, d, REVOKED, 0);
      await expectStatus(ledger, B, d, REVOKED, 0, await blockTime(await tx.wait()));
      await expectStatus(ledger, A, d, ACTIVE, 0, 0);
      expect(await ledger.credentialStatus(A, d, batchA.root)).to.deep.equal([0n, 0n, 0n]);
      // A manages its credential as if B had done nothing
      const s = await ledger.connect(opA).suspend(d, batchA.root, p, 5);
      await expectStatus(ledger, A, d, SUSPENDED, 5, await blockTime(await s.wait()));
      await ledger.connect(opA).reinstate(d, batchA.root, p, 0);
      expect((await ledger.statusOf(A, d))[0]).to.equal(BigInt(ACTIVE));
      expect((await ledger.statusOf(B, d))[0]).to.equal(BigInt(REVOKED));
    });

    it("one status per (agency, digest): the agency may act through any of its roots containing the digest", async function () {
      const { ledger, opA, A, batchA } = await loadFixture(anchoredFixture);
      const [d, p] = [batchA.digests[3], batchA.proofs[3]];
      await ledger.connect(opA).suspend(d, batchA.root, p, 5);
      const again = await anchorBatch(ledger, opA, [d, randomDigest()]);
      await expect(ledger.connect(opA).suspend(d, again.root, again.proofs[0], 0))
        .to.be.revertedWithCustomError(ledger, "AlreadySuspended")
        .withArgs(d);
      await expect(ledger.connect(opA).reinstate(d, again.root, again.proofs[0], 0)).to.emit(ledger, "StatusChanged").withArgs(A, d, ACTIVE, 0);
      await expectStatus(ledger, A, d, ACTIVE, 0, await time.latest());
    });
    it("non-operators cannot revoke (strangers, governance)", async function () {
      const { ledger, gov, stranger, batchA } = await loadFixture(anchoredFixture);
      for (const who of [gov, stranger]) {
        for (const fn of ["revoke", "suspend", "reinstate"]) {
          await expect(ledger.connect(who)[fn](batchA.digests[0], batchA.root, batchA.proofs[0], 0))
            .to.be.revertedWithCustomError(ledger, "NotOperator")
            .withArgs(who.address);
        }
      }
    });

    it("a removed operator can no longer revoke", async function () {
      const { ledger, registry, opA, batchA } = await loadFixture(anchoredFixture);
      await registry.removeOperator(opA.address);
      await expect(ledger.connect(opA).revoke(batchA.digests[0], batchA.root, batchA.proofs[0], 0))
        .to.be.revertedWithCustomError(ledger, "NotOperator")
        .withArgs(opA.address);
    });

    it("refuses a root that was never anchored", async function () {
      const { ledger, opA, A } = await loadFixture(anchoredFixture);
      const digests = randomDigests(3);
      const tree = buildTree(digests);
      for (const fn of ["revoke", "suspend", "reinstate"]) {
        await expect(ledger.connect(opA)[fn](digests[0], tree.root, getProof(tree, 0), 0))
          .to.be.revertedWithCustomError(ledger, "RootNotAnchored")
          .withArgs(A, tree.root);
      }
    });

    it("refuses proofs that do not lead from the digest to the root", async function () {
      const { ledger, opA, batchA, batchB } = await loadFixture(anchoredFixture);
      const root = batchA.root;
      const bad = {
        "a digest not in the batch": [randomDigest(), batchA.proofs[0]],
        "another leaf's proof": [batchA.digests[0], batchA.proofs[1]],
        "a tampered sibling": [batchA.digests[0], [ethers.id("x"), ...batchA.proofs[0].slice(1)]],
        "a truncated proof": [batchA.digests[0], batchA.proofs[0].slice(0, -1)],
        "an extra step": [batchA.digests[0], [...batchA.proofs[0], ethers.id("x")]],
        "an empty proof": [batchA.digests[0], []],
        "a digest of another batch": [batchB.digests[0], batchB.proofs[0]],
        "the leaf hash instead of the digest": [leafHash(batchA.digests[0]), batchA.proofs[0]],
      };
      for (const [, [d, p]] of Object.entries(bad)) {
        for (const fn of ["revoke", "suspend", "reinstate"]) {
          await expect(ledger.connect(opA)[fn](d, root, p, 0))
            .to.be.revertedWithCustomError(ledger, "InvalidProof")
            .withArgs(d, root);
        }
      }
    });

    it("a deactivated agency's operators may still revoke, suspend and reinstate their own credentials", async function () {
      const { ledger, registry, opA, A, batchA } = await loadFixture(anchoredFixture);
      await registry.setAgencyActive(A, false);
      const r = batchA.root;
      await expect(ledger.connect(opA).suspend(batchA.digests[0], r, batchA.proofs[0], 5)).to.emit(ledger, "StatusChanged").withArgs(A, batchA.digests[0], SUSPENDED, 5);
      await expect(ledger.connect(opA).reinstate(batchA.digests[0], r, batchA.proofs[0], 0)).to.emit(ledger, "StatusChanged").withArgs(A, batchA.digests[0], ACTIVE, 0);
      await expect(ledger.connect(opA).revoke(batchA.digests[1], r, batchA.proofs[1], 3)).to.emit(ledger, "StatusChanged").withArgs(A, batchA.digests[1], REVOKED, 3);
      await expect(ledger.connect(opA).revokeRoot(r, 5)).to.emit(ledger, "RootStatusChanged").withArgs(A, r, REVOKED, 5);
    });

    it("records any reason value as given", async function () {
      const { ledger, opA, A, batchA } = await loadFixture(anchoredFixture);
      await expect(ledger.connect(opA).revoke(batchA.digests[3], batchA.root, batchA.proofs[3], 255))
        .to.emit(ledger, "StatusChanged")
        .withArgs(A, batchA.digests[3], REVOKED, 255);
      expect((await ledger.statusOf(A, batchA.digests[3]))[1]).to.equal(255n);
    });
  });

  describe("suspend / reinstate", function () {
    it("suspends, refuses a second suspension, reinstates, and may suspend again", async function () {
      const { ledger, opA, opA2, A, batchA } = await loadFixture(anchoredFixture);
      const [d, r, p] = [batchA.digests[2], batchA.root, batchA.proofs[2]];
      let tx = await ledger.connect(opA).suspend(d, r, p, REASON.admin);
      await expect(tx).to.emit(ledger, "StatusChanged").withArgs(A, d, SUSPENDED, REASON.admin);
      await expectStatus(ledger, A, d, SUSPENDED, REASON.admin, await blockTime(await tx.wait()));

      await expect(ledger.connect(opA).suspend(d, r, p, REASON.admin)).to.be.revertedWithCustomError(ledger, "AlreadySuspended").withArgs(d);

      await time.increase(3600);
      tx = await ledger.connect(opA2).reinstate(d, r, p, REASON.holder);
      await expect(tx).to.emit(ledger, "StatusChanged").withArgs(A, d, ACTIVE, REASON.holder);
      await expectStatus(ledger, A, d, ACTIVE, REASON.holder, await blockTime(await tx.wait()));

      tx = await ledger.connect(opA).suspend(d, r, p, REASON.unspecified);
      await expect(tx).to.emit(ledger, "StatusChanged").withArgs(A, d, SUSPENDED, REASON.unspecified);
      await expectStatus(ledger, A, d, SUSPENDED, REASON.unspecified, await blockTime(await tx.wait()));
    });

    it("refuses to reinstate a credential that is not suspended", async function () {
      const { ledger, opA, batchA } = await loadFixture(anchoredFixture);
      await expect(ledger.connect(opA).reinstate(batchA.digests[0], batchA.root, batchA.proofs[0], 0))
        .to.be.revertedWithCustomError(ledger, "NotSuspended")
        .withArgs(batchA.digests[0]);
    });

    it("a revoked credential cannot be reinstated nor suspended again, even from suspension", async function () {
      const { ledger, opA, batchA } = await loadFixture(anchoredFixture);
      const [d, r, p] = [batchA.digests[3], batchA.root, batchA.proofs[3]];
      await ledger.connect(opA).suspend(d, r, p, 0);
      await ledger.connect(opA).revoke(d, r, p, 0);
      await expect(ledger.connect(opA).reinstate(d, r, p, 0)).to.be.revertedWithCustomError(ledger, "CredentialRevoked").withArgs(d);
      await expect(ledger.connect(opA).suspend(d, r, p, 0)).to.be.revertedWithCustomError(ledger, "CredentialRevoked").withArgs(d);
    });
  });

  describe("revokeRoot", function () {
    it("revokes a whole batch: RootStatusChanged, rootStatusOf, credentialStatus", async function () {
      const { ledger, opA, A, batchA } = await loadFixture(anchoredFixture);
      const r = batchA.root;
      expect(await ledger.rootStatusOf(A, r)).to.deep.equal([0n, 0n, 0n]);
      const tx = await ledger.connect(opA).revokeRoot(r, REASON.error);
      await expect(tx).to.emit(ledger, "RootStatusChanged").withArgs(A, r, REVOKED, REASON.error);
      const t = BigInt(await blockTime(await tx.wait()));
      expect(await ledger.rootStatusOf(A, r)).to.deep.equal([2n, BigInt(REASON.error), t]);
      for (const d of batchA.digests) {
        expect(await ledger.credentialStatus(A, d, r)).to.deep.equal([2n, BigInt(REASON.error), t]);
        expect(await ledger.statusOf(A, d)).to.deep.equal([0n, 0n, 0n]); // per-digest record untouched
      }
    });

    it("is final: a second revokeRoot fails with RootRevoked", async function () {
      const { ledger, opA, opA2, A, batchA } = await loadFixture(anchoredFixture);
      await ledger.connect(opA).revokeRoot(batchA.root, 1);
      await expect(ledger.connect(opA2).revokeRoot(batchA.root, 2)).to.be.revertedWithCustomError(ledger, "RootRevoked").withArgs(batchA.root);
      expect((await ledger.rootStatusOf(A, batchA.root))[1]).to.equal(1n);
    });

    it("credentials in a revoked root cannot be revoked, suspended or reinstated (RootRevoked)", async function () {
      const { ledger, opA, batchA } = await loadFixture(anchoredFixture);
      await ledger.connect(opA).suspend(batchA.digests[1], batchA.root, batchA.proofs[1], 0);
      await ledger.connect(opA).revokeRoot(batchA.root, 0);
      for (const [fn, i] of [["revoke", 0], ["suspend", 0], ["reinstate", 1]]) {
        await expect(ledger.connect(opA)[fn](batchA.digests[i], batchA.root, batchA.proofs[i], 0))
          .to.be.revertedWithCustomError(ledger, "RootRevoked")
          .withArgs(batchA.root);
      }
    });

    it("credentialStatus follows statusOf while the root is not revoked", async function () {
      const { ledger, opA, opB, A, batchA, batchB } = await loadFixture(anchoredFixture);
      const tx = await ledger.connect(opA).suspend(batchA.digests[0], batchA.root, batchA.proofs[0], 4);
      const t = BigInt(await blockTime(await tx.wait()));
      expect(await ledger.credentialStatus(A, batchA.digests[0], batchA.root)).to.deep.equal([1n, 4n, t]);
      expect(await ledger.credentialStatus(A, batchA.digests[1], batchA.root)).to.deep.equal([0n, 0n, 0n]);
      await ledger.connect(opB).revokeRoot(batchB.root, 2);
      // B's revoked root says nothing about A's batch
      expect(await ledger.credentialStatus(A, batchA.digests[0], batchA.root)).to.deep.equal([1n, 4n, t]);
    });

    it("only an operator of the anchoring agency may revoke a root", async function () {
      const { ledger, gov, stranger, opB, A, B, batchA } = await loadFixture(anchoredFixture);
      await expect(ledger.connect(opB).revokeRoot(batchA.root, 0)).to.be.revertedWithCustomError(ledger, "RootNotAnchored").withArgs(B, batchA.root);
      for (const who of [gov, stranger]) {
        await expect(ledger.connect(who).revokeRoot(batchA.root, 0)).to.be.revertedWithCustomError(ledger, "NotOperator").withArgs(who.address);
      }
      expect(await ledger.rootStatusOf(A, batchA.root)).to.deep.equal([0n, 0n, 0n]);
    });

    it("refuses a root that was never anchored", async function () {
      const { ledger, opA, A } = await loadFixture(anchoredFixture);
      const r = ethers.id("never");
      await expect(ledger.connect(opA).revokeRoot(r, 0)).to.be.revertedWithCustomError(ledger, "RootNotAnchored").withArgs(A, r);
    });
  });

  describe("revokeMany / suspendMany / reinstateMany", function () {
    async function manyFixture() {
      const f = await anchoredFixture();
      const batchA2 = await anchorBatch(f.ledger, f.opA2, randomDigests(3));
      return { ...f, batchA2 };
    }
    const pick = (batches) => ({
      digests: batches.map(([b, i]) => b.digests[i]),
      roots: batches.map(([b]) => b.root),
      proofs: batches.map(([b, i]) => b.proofs[i]),
    });

    it("change many credentials across several roots of the agency, one event each", async function () {
      const { ledger, opA, A, batchA, batchA2 } = await loadFixture(manyFixture);
      const s = pick([[batchA, 0], [batchA2, 2], [batchA, 4]]);

      let tx = await ledger.connect(opA).suspendMany(s.digests, s.roots, s.proofs, 5);
      let t = await blockTime(await tx.wait());
      for (const d of s.digests) {
        await expect(tx).to.emit(ledger, "StatusChanged").withArgs(A, d, SUSPENDED, 5);
        await expectStatus(ledger, A, d, SUSPENDED, 5, t);
      }

      tx = await ledger.connect(opA).reinstateMany(s.digests.slice(0, 2), s.roots.slice(0, 2), s.proofs.slice(0, 2), 4);
      t = await blockTime(await tx.wait());
      for (const d of s.digests.slice(0, 2)) {
        await expect(tx).to.emit(ledger, "StatusChanged").withArgs(A, d, ACTIVE, 4);
        await expectStatus(ledger, A, d, ACTIVE, 4, t);
      }

      tx = await ledger.connect(opA).revokeMany(s.digests, s.roots, s.proofs, 3);
      t = await blockTime(await tx.wait());
      const receipt = await ethers.provider.getTransactionReceipt(tx.hash);
      expect(receipt.logs.length).to.equal(3);
      for (const d of s.digests) {
        await expect(tx).to.emit(ledger, "StatusChanged").withArgs(A, d, REVOKED, 3);
        await expectStatus(ledger, A, d, REVOKED, 3, t);
      }
    });

    it("are all-or-nothing: one bad element reverts the whole call", async function () {
      const { ledger, opA, A, batchA, batchA2 } = await loadFixture(manyFixture);
      const s = pick([[batchA, 0], [batchA2, 1]]);
      const badProofs = [s.proofs[0], batchA2.proofs[0]];
      for (const fn of ["revokeMany", "suspendMany"]) {
        await expect(ledger.connect(opA)[fn](s.digests, s.roots, badProofs, 0))
          .to.be.revertedWithCustomError(ledger, "InvalidProof")
          .withArgs(s.digests[1], s.roots[1]);
      }
      await expectStatus(ledger, A, s.digests[0], ACTIVE, 0, 0);
    });

    it("apply the single-credential rules to every element", async function () {
      const { ledger, opA, A, batchA, batchA2, batchB } = await loadFixture(manyFixture);
      const s = pick([[batchA, 0], [batchA2, 1]]);
      await expect(ledger.connect(opA).reinstateMany(s.digests, s.roots, s.proofs, 0))
        .to.be.revertedWithCustomError(ledger, "NotSuspended")
        .withArgs(s.digests[0]);
      // the same digest twice: the second element sees the first one's change
      const twice = pick([[batchA, 3], [batchA, 3]]);
      await expect(ledger.connect(opA).suspendMany(twice.digests, twice.roots, twice.proofs, 0))
        .to.be.revertedWithCustomError(ledger, "AlreadySuspended")
        .withArgs(twice.digests[0]);
      await expect(ledger.connect(opA).revokeMany(twice.digests, twice.roots, twice.proofs, 0))
        .to.be.revertedWithCustomError(ledger, "CredentialRevoked")
        .withArgs(twice.digests[0]);
      // B's root in A's list: not anchored in A's namespace
      const mixed = pick([[batchA, 0], [batchB, 0]]);
      await expect(ledger.connect(opA).revokeMany(mixed.digests, mixed.roots, mixed.proofs, 0))
        .to.be.revertedWithCustomError(ledger, "RootNotAnchored")
        .withArgs(A, batchB.root);
      // revoked root
      await ledger.connect(opA).revokeRoot(batchA2.root, 0);
      await expect(ledger.connect(opA).revokeMany(s.digests, s.roots, s.proofs, 0))
        .to.be.revertedWithCustomError(ledger, "RootRevoked")
        .withArgs(batchA2.root);
      // unanchored root
      const r = ethers.id("never");
      await expect(ledger.connect(opA).suspendMany([s.digests[0]], [r], [[]], 0))
        .to.be.revertedWithCustomError(ledger, "RootNotAnchored")
        .withArgs(A, r);
    });

    it("agency B cannot use them on agency A's credentials; non-operators cannot use them at all", async function () {
      const { ledger, opB, B, gov, stranger, batchA } = await loadFixture(manyFixture);
      const s = pick([[batchA, 0]]);
      for (const fn of ["revokeMany", "suspendMany", "reinstateMany"]) {
        await expect(ledger.connect(opB)[fn](s.digests, s.roots, s.proofs, 0))
          .to.be.revertedWithCustomError(ledger, "RootNotAnchored")
          .withArgs(B, batchA.root);
        for (const who of [gov, stranger]) {
          await expect(ledger.connect(who)[fn](s.digests, s.roots, s.proofs, 0))
            .to.be.revertedWithCustomError(ledger, "NotOperator")
            .withArgs(who.address);
          await expect(ledger.connect(who)[fn]([], [], [], 0))
            .to.be.revertedWithCustomError(ledger, "NotOperator")
            .withArgs(who.address);
        }
      }
    });

    it("refuse arrays of different lengths", async function () {
      const { ledger, opA, batchA } = await loadFixture(manyFixture);
      const s = pick([[batchA, 0], [batchA, 1]]);
      const cases = [
        [s.digests.slice(0, 1), s.roots, s.proofs],
        [s.digests, s.roots.slice(0, 1), s.proofs],
        [s.digests, s.roots, s.proofs.slice(0, 1)],
        [[], s.roots, s.proofs],
      ];
      for (const fn of ["revokeMany", "suspendMany", "reinstateMany"]) {
        for (const [d, r, p] of cases) {
          await expect(ledger.connect(opA)[fn](d, r, p, 0)).to.be.revertedWithCustomError(ledger, "LengthMismatch");
        }
      }
    });

    it("empty lists from an operator change nothing", async function () {
      const { ledger, opA } = await loadFixture(manyFixture);
      for (const fn of ["revokeMany", "suspendMany", "reinstateMany"]) {
        await expect(ledger.connect(opA)[fn]([], [], [], 0)).not.to.emit(ledger, "StatusChanged");
      }
    });
  });

  describe("Merkle rule (leaf keccak256(digest), sorted pairs) agrees with the contract", function () {
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 33]) {
      it(`every leaf of a ${n}-leaf batch verifies on chain`, async function () {
        const { ledger, opA, A } = await loadFixture(deployFixture);
        const b = await anchorBatch(ledger, opA, randomDigests(n));
        for (let i = 0; i < n; i++) {
          await expect(ledger.connect(opA).suspend(b.digests[i], b.root, b.proofs[i], 0))
            .to.emit(ledger, "StatusChanged")
            .withArgs(A, b.digests[i], SUSPENDED, 0);
        }
      });
    }

    it("the helper follows the rule by hand for three leaves", function () {
      const d = randomDigests(3);
      const [l0, l1, l2] = d.map(leafHash);
      const sortCat = (a, b) => (BigInt(a) <= BigInt(b) ? ethers.concat([a, b]) : ethers.concat([b, a]));
      const expected = ethers.keccak256(sortCat(ethers.keccak256(sortCat(l0, l1)), l2));
      const tree = buildTree(d);
      expect(tree.root).to.equal(expected);
      expect(getProof(tree, 2)).to.deep.equal([ethers.keccak256(sortCat(l0, l1))]);
      expect(getProof(tree, 0)).to.deep.equal([l1, l2]);
      expect(l0).to.equal(ethers.keccak256(ethers.getBytes(d[0])));
    });

    it("the helper refuses duplicate digests and empty batches", function () {
      const d = randomDigest();
      expect(() => buildTree([d, d])).to.throw(/duplicate/);
      expect(() => buildTree([])).to.throw(/empty/);
    });
  });
});
