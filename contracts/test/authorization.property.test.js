// Authorization property: random sequences of callers (governance, operators of A and B, a stranger)
// hit every write function of both contracts; a model decides what each call must do, and exactly
// the allowed calls succeed. Refusals must carry the expected custom error (and, for the role
// checks, the expected arguments). Seeded, so a failure is reproducible: SEED=<n> npx hardhat test.
const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture } = require("@nomicfoundation/hardhat-network-helpers");
const { ADMIN_ROLE, ACTIVE, SUSPENDED, REVOKED, deployFixture, prng, randomDigests } = require("./helpers");
const { buildTree, getProof } = require("./merkle");

const SEED = Number(process.env.SEED || 20240601);
const ITERATIONS = 250;

describe("Authorization property (randomised callers x every write function)", function () {
  this.timeout(300_000);

  it(`only the allowed calls succeed (seed ${SEED}, ${ITERATIONS} calls)`, async function () {
    const f = await loadFixture(deployFixture);
    const { registry, ledger, gov, opA, opA2, opB, stranger, A, B } = f;
    const rnd = prng(SEED);

    // ------------------------------------------------------------------ model
    const agencies = { [A]: { active: true }, [B]: { active: true } };
    const agencyOf = new Map([
      [opA.address, A],
      [opA2.address, A],
      [opB.address, B],
    ]);
    const callers = [gov, opA, opA2, opB, stranger];
    const isGov = (c) => c.address === gov.address;
    const spareOperators = []; // addresses added by governance during the run (never callers)
    const keys = []; // { key, agency, revoked }
    const batches = []; // { agency, root, digests, proofs, revoked }
    const state = new Map(); // digest -> state
    let fresh = 0;

    async function newBatch(op, agency, n = 3) {
      const digests = randomDigests(n);
      const tree = buildTree(digests);
      await ledger.connect(op).anchor(tree.root, n);
      batches.push({ agency, root: tree.root, digests, proofs: digests.map((_, i) => getProof(tree, i)), revoked: false });
    }
    for (const [op, id] of [[opA, A], [opA2, A], [opB, B], [opB, B]]) await newBatch(op, id);

    // ------------------------------------------------------------------ expectations
    const stats = {};
    const tally = (name, ok) => {
      stats[name] ??= { ok: 0, refused: 0 };
      stats[name][ok ? "ok" : "refused"]++;
    };

    /** Runs `send()`; `expected` is null (must succeed) or [contract, error, args?]. */
    async function check(name, send, expected) {
      if (expected === null) {
        await expect(send(), name).not.to.be.reverted;
      } else {
        const [contract, error, args] = expected;
        const assertion = expect(send(), name).to.be.revertedWithCustomError(contract, error);
        if (args) await assertion.withArgs(...args);
        else await assertion;
      }
      tally(name, expected === null);
    }

    const adminOnly = (c) => (isGov(c) ? null : [registry, "AccessControlUnauthorizedAccount", [c.address, ADMIN_ROLE]]);
    const keyAuthority = (c, agency) =>
      isGov(c) || agencyOf.get(c.address) === agency ? null : [registry, "NotAgencyOperator", [c.address, agency]];

    /** Expected outcome of one credential change by `c`, applied to `sim` (a scratch copy of state). */
    function credentialOutcome(c, b, i, to, sim) {
      const mine = agencyOf.get(c.address);
      if (!mine) return [ledger, "NotOperator", [c.address]];
      if (mine !== b.agency) return [ledger, "NotRootOwner", [b.root, mine]];
      if (b.revoked) return [ledger, "RootRevoked", [b.root]];
      const d = b.digests[i];
      const from = sim.get(d) ?? ACTIVE;
      if (from === REVOKED) return [ledger, "CredentialRevoked", [d]];
      if (to === SUSPENDED && from === SUSPENDED) return [ledger, "AlreadySuspended", [d]];
      if (to === ACTIVE && from !== SUSPENDED) return [ledger, "NotSuspended", [d]];
      sim.set(d, to);
      return null;
    }

    const all = (pool) => pool.flatMap((b) => b.digests.map((_, i) => [b, i]));
    /** A credential; biased towards the caller's own live batches and towards state `want`, so that
     *  allowed calls are common enough to matter (refusals stay frequent anyway). */
    const pickCredential = (c, want) => {
      const mine = agencyOf.get(c.address);
      let pool = all(batches);
      if (mine && rnd.next() < 0.6) {
        const own = all(batches.filter((b) => b.agency === mine && !b.revoked));
        if (own.length) pool = own;
      }
      if (want !== undefined && rnd.next() < 0.5) {
        const fit = pool.filter(([b, i]) => (state.get(b.digests[i]) ?? ACTIVE) === want);
        if (fit.length) pool = fit;
      }
      return rnd.pick(pool);
    };
    const wanted = { [REVOKED]: undefined, [SUSPENDED]: ACTIVE, [ACTIVE]: SUSPENDED };

    // ------------------------------------------------------------------ the operations
    const ops = {
      async registerAgency(c) {
        const code = `agency-${SEED}-${fresh++}`;
        await check("registerAgency", () => registry.connect(c).registerAgency(code), adminOnly(c));
      },
      async setAgencyActive(c) {
        const id = rnd.pick([A, B]);
        const active = rnd.next() < 0.6;
        const expected = adminOnly(c);
        await check("setAgencyActive", () => registry.connect(c).setAgencyActive(id, active), expected);
        if (expected === null) agencies[id].active = active;
      },
      async addOperator(c) {
        const id = rnd.pick([A, B]);
        const addr = ethers.getAddress(rnd.bytes32().slice(0, 42));
        const expected = adminOnly(c);
        await check("addOperator", () => registry.connect(c).addOperator(id, addr), expected);
        if (expected === null) spareOperators.push(addr);
      },
      async removeOperator(c) {
        if (spareOperators.length === 0) return ops.addOperator(c);
        const k = rnd.int(spareOperators.length);
        const expected = adminOnly(c);
        await check("removeOperator", () => registry.connect(c).removeOperator(spareOperators[k]), expected);
        if (expected === null) spareOperators.splice(k, 1);
      },
      async setTypePermitted(c) {
        const id = rnd.pick([A, B]);
        const typeId = ethers.id(rnd.pick(["DegreeCertificate", "BirthCertificate", "DrivingLicence"]));
        await check("setTypePermitted", () => registry.connect(c).setTypePermitted(id, typeId, rnd.next() < 0.5), adminOnly(c));
      },
      async addKey(c) {
        const id = rnd.pick([A, B]);
        const key = rnd.bytes32();
        const expected = keyAuthority(c, id);
        await check("addKey", () => registry.connect(c).addKey(id, key, 0), expected);
        if (expected === null) keys.push({ key, agency: id, revoked: false });
      },
      async revokeKey(c) {
        const live = keys.filter((k) => !k.revoked);
        if (live.length === 0) return ops.addKey(c);
        const k = rnd.pick(live);
        const expected = keyAuthority(c, k.agency);
        await check("revokeKey", () => registry.connect(c).revokeKey(k.key, 0), expected);
        if (expected === null) k.revoked = true;
      },
      async anchor(c) {
        const mine = agencyOf.get(c.address);
        const digests = randomDigests(1 + rnd.int(4));
        const tree = buildTree(digests);
        let expected = null;
        if (!mine) expected = [ledger, "NotOperator", [c.address]];
        else if (!agencies[mine].active) expected = [ledger, "AgencyInactive", [mine]];
        await check("anchor", () => ledger.connect(c).anchor(tree.root, digests.length), expected);
        if (expected === null) {
          batches.push({ agency: mine, root: tree.root, digests, proofs: digests.map((_, i) => getProof(tree, i)), revoked: false });
        }
      },
      ...Object.fromEntries(
        [["revoke", REVOKED], ["suspend", SUSPENDED], ["reinstate", ACTIVE]].map(([fn, to]) => [
          fn,
          async (c) => {
            const [b, i] = pickCredential(c, wanted[to]);
            const sim = new Map(state);
            const expected = credentialOutcome(c, b, i, to, sim);
            await check(fn, () => ledger.connect(c)[fn](b.digests[i], b.root, b.proofs[i], rnd.int(7)), expected);
            if (expected === null) state.set(b.digests[i], to);
          },
        ]),
      ),
      ...Object.fromEntries(
        [["revokeMany", REVOKED], ["suspendMany", SUSPENDED], ["reinstateMany", ACTIVE]].map(([fn, to]) => [
          fn,
          async (c) => {
            const picks = [];
            const seen = new Set();
            for (let n = 1 + rnd.int(3); picks.length < n; ) {
              const [b, i] = pickCredential(c, wanted[to]);
              if (!seen.has(b.digests[i])) picks.push([b, i]), seen.add(b.digests[i]);
            }
            const sim = new Map(state);
            let expected = null;
            if (!agencyOf.get(c.address)) expected = [ledger, "NotOperator", [c.address]];
            for (const [b, i] of picks) {
              if (expected) break;
              expected = credentialOutcome(c, b, i, to, sim);
            }
            const args = [picks.map(([b, i]) => b.digests[i]), picks.map(([b]) => b.root), picks.map(([b, i]) => b.proofs[i])];
            await check(fn, () => ledger.connect(c)[fn](...args, rnd.int(7)), expected);
            if (expected === null) for (const [d, s] of sim) state.set(d, s);
          },
        ]),
      ),
      async revokeRoot(c) {
        const b = rnd.pick(batches);
        const mine = agencyOf.get(c.address);
        let expected = null;
        if (!mine) expected = [ledger, "NotOperator", [c.address]];
        else if (mine !== b.agency) expected = [ledger, "NotRootOwner", [b.root, mine]];
        else if (b.revoked) expected = [ledger, "RootRevoked", [b.root]];
        await check("revokeRoot", () => ledger.connect(c).revokeRoot(b.root, rnd.int(7)), expected);
        if (expected === null) b.revoked = true;
      },
    };

    // Root revocation ends a batch for good; keep it rarer so that credential changes stay interesting.
    const weights = Object.keys(ops).flatMap((name) => Array(name === "revokeRoot" ? 1 : 3).fill(name));
    for (let n = 0; n < ITERATIONS; n++) {
      await ops[rnd.pick(weights)](rnd.pick(callers));
    }

    // ------------------------------------------------------------------ the chain agrees with the model
    for (const b of batches) {
      expect((await ledger.rootStatusOf(b.root))[0]).to.equal(b.revoked ? BigInt(REVOKED) : 0n);
      expect((await ledger.anchorOf(b.root))[0]).to.equal(b.agency);
      for (const d of b.digests) expect((await ledger.statusOf(d))[0]).to.equal(BigInt(state.get(d) ?? ACTIVE));
    }
    for (const k of keys) expect((await registry.keyOf(k.key))[2] !== 0n).to.equal(k.revoked);
    for (const id of [A, B]) expect((await registry.agency(id))[1]).to.equal(agencies[id].active);

    if (process.env.AUTH_STATS) console.log(stats);
    // Every write function was exercised, and every role check was seen refusing someone.
    for (const name of Object.keys(ops)) {
      expect(stats[name], `${name} never called`).to.not.equal(undefined);
      expect(stats[name].refused, `${name} never refused anyone`).to.be.greaterThan(0);
    }
    const succeeded = Object.values(stats).reduce((s, x) => s + x.ok, 0);
    expect(succeeded, "too few calls succeeded to mean anything").to.be.greaterThan(ITERATIONS / 5);
  });
});
