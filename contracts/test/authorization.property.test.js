// Authorization property, model-based: a seeded random sequence of actions (anchor; revoke, suspend,
// reinstate one or many; revoke a root; register and rename agencies; operators; add, rotate and revoke
// keys; permit types; hand governance over) by random actors (governance, operators of agencies A and
// B, a stranger, and a spare account that governance may promote or make an operator). A plain JS
// model of the protocol v2 rules predicts every call: it must succeed, or revert with exactly the
// predicted custom error and arguments.
//
// The model keeps one namespace per agency, as the contracts must: anchors keyed (agency, root),
// statuses (agency, digest), root statuses (agency, root), keys (agency, key). The random actions make
// agencies share on purpose: an agency anchors roots another agency anchored (before or after it),
// batches hold digests of other agencies' batches, keys are added with bytes another agency holds.
// After every step the chain state the step touched (or tried to touch) is compared with the model
// in EVERY namespace that could hold it, so a write that leaks into another agency's namespace fails
// the step; all of it every SWEEP steps and at the end.
//
// Reproducible: block times are set by the test and all randomness comes from the seed, which is
// printed. SEED=<n> (or SEED=random) and ACTIONS=<n> override the defaults: SEED=7 npx hardhat test.
// Runs of fewer than COVERAGE_MIN actions skip the final "every action and error was exercised" checks.
const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture, time } = require("@nomicfoundation/hardhat-network-helpers");
const {
  ADMIN_ROLE, ACTIVE, SUSPENDED, REVOKED, CODE_A, CODE_B, NAME_A, NAME_B, SMALL_ORDER_KEYS, WEAK_KEYS, withSignBit, encodeY,
  deployFixture, prng, agencyIdOf,
} = require("./helpers");
const { buildTree, getProof, processProof } = require("./merkle");

const SEED = process.env.SEED === "random" ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.SEED || 8);
const ACTIONS = Number(process.env.ACTIONS || 500);
const SWEEP = 50;
const COVERAGE_MIN = 300;
const TYPES = ["DegreeCertificate", "BirthCertificate", "DrivingLicence"].map((t) => ethers.id(t));
const ZERO = ethers.ZeroHash;
const P = 2n ** 255n - 19n;

/** y of a raw Ed25519 encoding (little-endian, sign bit cleared). */
const yOf = (key) => BigInt("0x" + Buffer.from(key.slice(2), "hex").reverse().toString("hex")) & ((1n << 255n) - 1n);
const SMALL_ORDER_Y = new Set(Object.values(SMALL_ORDER_KEYS).map(yOf));
/** The registry's rule, restated: zero, y >= p, or a small-order y (either sign). */
const isWeakKey = (key) => yOf(key) >= P || SMALL_ORDER_Y.has(yOf(key));

describe("Authorization property (model-based: random actions x random actors, per-agency namespaces)", function () {
  this.timeout(600_000);

  it(`every call does what the model predicts, and the chain equals the model in every namespace (seed ${SEED}, ${ACTIONS} actions)`, async function () {
    console.log(`      authorization property: SEED=${SEED} ACTIONS=${ACTIONS}`);
    const { registry, ledger, gov, opA, opA2, opB, stranger, extra, A, B } = await loadFixture(deployFixture);
    const rnd = prng(SEED);
    const chance = (p) => rnd.next() < p;
    const names = new Map([[gov, "governance"], [opA, "operator A"], [opA2, "operator A2"], [opB, "operator B"],
      [stranger, "stranger"], [extra, "spare account"]].map(([s, n]) => [s.address, n]));
    const callers = [gov, opA, opA2, opB, stranger, extra];
    const ns = (agency, x) => `${agency}:${x}`;

    // ------------------------------------------------------------------ the model
    const admins = new Set([gov.address]);
    const agencies = new Map([[A, { active: true, index: 1, code: CODE_A, name: NAME_A }],
      [B, { active: true, index: 2, code: CODE_B, name: NAME_B }]]);
    const operatorOf = new Map([[opA.address, A], [opA2.address, A], [opB.address, B]]);
    const writers = new Set([A, B]); // agencies one of our signers operated for: the namespaces that can hold records
    const permits = new Map(); // ns(agency, type) -> bool
    const keys = new Map(); // ns(agency, key) -> { agency, key, validFrom, revokedAt }
    const keyBytes = new Set(); // every key tried, registered anywhere or not
    const trees = new Map(); // root -> { digests, proofs }: every tree built
    const batches = new Map(); // ns(agency, root) -> { agency, root, timestamp, block, count, revoked: null | {reason, since} }
    const rootsTried = new Set(); // every root an anchor was tried with
    const rootsOfDigest = new Map(); // digest -> Set(root anchored by anyone)
    const status = new Map(); // ns(agency, digest) -> { state, reason, since }
    const movable = [opA2.address, extra.address]; // operators governance may move (A and B keep opA, opB)
    let fresh = 0;
    let now = (await ethers.provider.getBlock("latest")).timestamp;

    const isAdmin = (c) => admins.has(c.address);
    const adminOnly = (c) => (isAdmin(c) ? null : [registry, "AccessControlUnauthorizedAccount", [c.address, ADMIN_ROLE]]);
    const agencyPool = () => [...agencies.keys()];
    const someAgency = () => (chance(0.1) ? rnd.bytes32() : rnd.pick(agencyPool()));
    const holders = (root) => [...batches.values()].filter((b) => b.root === root).map((b) => b.agency);
    const heldElsewhere = (agency, d) => [...(rootsOfDigest.get(d) ?? [])].some((r) => holders(r).some((h) => h !== agency));
    const stateIn = (agency, d) => status.get(ns(agency, d))?.state ?? ACTIVE;
    const randomName = () => {
      const odd = rnd.next();
      if (odd < 0.1) return "局".repeat(66) + "ab"; // exactly 200 bytes
      if (odd < 0.2) return "x";
      return `Agency ${fresh} 机构 ${rnd.int(1e6)}`;
    };
    const badName = () => rnd.pick(["", "n".repeat(201), "局".repeat(67)]);

    // ------------------------------------------------------------------ running one call
    const stats = {};
    const errorsSeen = {};
    const shared = { rootAnchors: 0, digestChanges: 0, rootRevocations: 0, keyAdds: 0, foreignRootRefusals: 0, keyRevocations: 0 };
    let step = 0;

    /** Sends `send()` in the next block (time `ts`); `expected` null: must succeed; else [contract, error, args]. */
    async function attempt(name, c, send, expected, ts) {
      await time.setNextBlockTimestamp(ts);
      const where = `step ${step} (SEED=${SEED}): ${name} by ${names.get(c.address) ?? c.address}`;
      stats[name] ??= { ok: 0, refused: 0 };
      if (expected === null) {
        let receipt;
        try {
          receipt = await (await send()).wait();
        } catch (err) {
          throw new Error(`${where}: the model allows it, the chain refused: ${err.message}`);
        }
        stats[name].ok++;
        return receipt;
      }
      const [contract, error, args] = expected;
      const assertion = expect(send()).to.be.revertedWithCustomError(contract, error);
      try {
        await (args ? assertion.withArgs(...args) : assertion);
      } catch (err) {
        err.message = `${where}: the model predicts ${error}(${args ?? ""}): ${err.message}`;
        throw err;
      }
      stats[name].refused++;
      errorsSeen[error] = (errorsSeen[error] ?? 0) + 1;
      return null;
    }
    const tick = () => (now += 1 + rnd.int(3));

    // ------------------------------------------------------------------ chain == model
    /** Namespaces a ledger record could be in (plus agency 0, which no one may write). */
    const spaces = () => [...writers, ZERO];
    const statusTuple = (s) => (s ? [BigInt(s.state), BigInt(s.reason), BigInt(s.since)] : [0n, 0n, 0n]);
    const checks = {
      async agency(id) {
        const m = agencies.get(id);
        expect([...(await registry.agencyInfo(id))], `agency ${id}`).to.deep.equal(m ? [m.code, m.name, m.active] : ["", "", false]);
      },
      async operator(addr) {
        expect(await registry.agencyOf(addr), `operator ${addr}`).to.equal(operatorOf.get(addr) ?? ZERO);
      },
      async admin(addr) {
        expect(await registry.hasRole(ADMIN_ROLE, addr), `admin ${addr}`).to.equal(admins.has(addr));
      },
      async permit(id, type) {
        expect(await registry.isPermitted(id, type), `permit ${id} ${type}`).to.equal(permits.get(ns(id, type)) ?? false);
      },
      /** keyOf(agency, key) in every agency's namespace (and agency 0). */
      async key(k) {
        for (const id of [...agencies.keys(), ZERO]) {
          const m = keys.get(ns(id, k));
          expect([...(await registry.keyOf(id, k))], `key ${k} of agency ${id}`).to.deep.equal(
            m ? [BigInt(m.validFrom), BigInt(m.revokedAt)] : [0n, 0n]);
        }
      },
      /** anchorOf and rootStatusOf of `r` in every namespace. */
      async root(r) {
        for (const id of spaces()) {
          const m = batches.get(ns(id, r));
          expect([...(await ledger.anchorOf(id, r))], `anchor of ${r} in ${id}`).to.deep.equal(
            m ? [BigInt(m.timestamp), BigInt(m.block), BigInt(m.count)] : [0n, 0n, 0n]);
          expect([...(await ledger.rootStatusOf(id, r))], `root status of ${r} in ${id}`).to.deep.equal(
            m?.revoked ? [BigInt(REVOKED), BigInt(m.revoked.reason), BigInt(m.revoked.since)] : [0n, 0n, 0n]);
        }
      },
      /** statusOf(d), and credentialStatus(d, r) for every root anchored anywhere holding d, in every namespace. */
      async digest(d) {
        for (const id of spaces()) {
          const expected = statusTuple(status.get(ns(id, d)));
          expect([...(await ledger.statusOf(id, d))], `status of ${d} in ${id}`).to.deep.equal(expected);
          for (const r of rootsOfDigest.get(d) ?? []) {
            const revoked = batches.get(ns(id, r))?.revoked; // only this namespace's revocation of the root counts
            const seen = revoked ? [BigInt(REVOKED), BigInt(revoked.reason), BigInt(revoked.since)] : expected;
            expect([...(await ledger.credentialStatus(id, d, r))], `credential status of ${d} in ${r} in ${id}`).to.deep.equal(seen);
          }
        }
      },
    };
    async function sweep() {
      expect(await registry.agencyCount()).to.equal(BigInt(agencies.size));
      for (const [id, m] of agencies) {
        expect(await registry.agencyIdAt(m.index)).to.equal(id);
        await checks.agency(id);
        for (const t of TYPES) await checks.permit(id, t);
      }
      for (const c of callers) await checks.admin(c.address);
      for (const addr of new Set([...callers.map((c) => c.address), ...operatorOf.keys()])) await checks.operator(addr);
      for (const k of keyBytes) await checks.key(k);
      for (const r of rootsTried) await checks.root(r);
      for (const d of rootsOfDigest.keys()) await checks.digest(d);
    }

    // ------------------------------------------------------------------ credential changes, as the contract rules them
    /** Expected outcome of `agency` moving `d` (proved by `proof` in `root`) to `to`, applied to `sim` when allowed. */
    function change(agency, root, d, proof, to, reason, ts, sim) {
      const batch = batches.get(ns(agency, root));
      if (!batch) return [ledger, "RootNotAnchored", [agency, root]]; // another agency's anchor of it does not count
      if (processProof(d, proof) !== root) return [ledger, "InvalidProof", [d, root]];
      if (batch.revoked) return [ledger, "RootRevoked", [root]];
      const from = sim.get(ns(agency, d))?.state ?? ACTIVE;
      if (from === REVOKED) return [ledger, "CredentialRevoked", [d]];
      if (to === SUSPENDED && from === SUSPENDED) return [ledger, "AlreadySuspended", [d]];
      if (to === ACTIVE && from !== SUSPENDED) return [ledger, "NotSuspended", [d]];
      sim.set(ns(agency, d), { state: to, reason, since: ts });
      return null;
    }

    /** A (root, digest, proof) to act on: mostly the caller's agency's live batches, often in state `want`;
     *  often a digest or root another agency holds too; sometimes another agency's batch (which the caller's
     *  namespace may not have), an unanchored root or a wrong proof. */
    function pickTarget(c, want, clean = false) {
      const mine = operatorOf.get(c.address);
      const all = [...batches.values()].flatMap((b) => trees.get(b.root).digests.map((_, i) => [b, i]));
      const digestAt = ([b, i]) => trees.get(b.root).digests[i];
      const ownLive = all.filter(([b]) => b.agency === mine && !b.revoked);
      let pool = all;
      if (clean) {
        // what a careful operator would send: its own live roots, credentials in the state the change needs
        const fit = ownLive.filter((t) => want === undefined || stateIn(mine, digestAt(t)) === want);
        pool = fit.length ? fit : ownLive.length ? ownLive : all;
      } else if (mine) {
        const odd = rnd.next();
        let narrowed;
        if (odd < 0.5) narrowed = chance(0.9) ? ownLive : all.filter(([b]) => b.agency === mine && b.revoked);
        // shared: a root or a digest another agency anchored too
        else if (odd < 0.8) narrowed = all.filter(([b, i]) => b.agency === mine && (holders(b.root).length > 1 || heldElsewhere(mine, digestAt([b, i]))));
        // foreign: another agency's batch, which exists in the caller's namespace only if it anchored the root too
        else narrowed = all.filter(([b]) => b.agency !== mine);
        if (narrowed.length) pool = narrowed;
        if (want !== undefined && chance(0.6)) {
          const fit = pool.filter((t) => stateIn(mine, digestAt(t)) === want);
          if (fit.length) pool = fit;
        }
      }
      const [b, i] = rnd.pick(pool);
      const tree = trees.get(b.root);
      let [root, d, proof] = [b.root, tree.digests[i], tree.proofs[i]];
      if (!clean) {
        const odd = rnd.next();
        if (odd < 0.04) root = rnd.bytes32(); // never anchored
        else if (odd < 0.08) proof = [rnd.bytes32(), ...proof]; // a proof that leads elsewhere
      }
      return { root, d, proof };
    }
    const wanted = { [REVOKED]: undefined, [SUSPENDED]: ACTIVE, [ACTIVE]: SUSPENDED };
    function countShared(agency, root, d, expected) {
      if (expected === null && heldElsewhere(agency, d)) shared.digestChanges++;
      if (expected?.[1] === "RootNotAnchored" && holders(root).length) shared.foreignRootRefusals++;
    }

    /** Digests for a new batch: fresh ones, and often digests already anchored, by this or another agency. */
    function batchDigests() {
      const n = 1 + rnd.int(4);
      const out = new Set();
      const anchored = [...rootsOfDigest.keys()];
      while (out.size < n) out.add(anchored.length && chance(0.3) ? rnd.pick(anchored) : rnd.bytes32());
      return [...out];
    }
    function newTree(digests) {
      const tree = buildTree(digests);
      trees.set(tree.root, { digests, proofs: digests.map((_, i) => getProof(tree, i)) });
      return tree.root;
    }

    // ------------------------------------------------------------------ the actions
    const statusActions = [["revoke", REVOKED], ["suspend", SUSPENDED], ["reinstate", ACTIVE]];
    const actions = {
      async anchor(c) {
        const mine = operatorOf.get(c.address);
        let root;
        const own = [...batches.values()].filter((b) => b.agency === mine);
        const others = [...batches.values()].filter((b) => b.agency !== mine);
        const odd = rnd.next();
        if (odd < 0.03) root = ZERO;
        else if (odd < 0.1 && own.length) root = rnd.pick(own).root; // again, in its own namespace
        else if (odd < 0.32 && others.length) root = rnd.pick(others).root; // another agency's root (maybe its own too)
        else root = newTree(batchDigests());
        let count = root === ZERO ? 1 : trees.get(root).digests.length;
        if (chance(0.03)) count = 0;
        else if (chance(0.05)) count = 1 + rnd.int(2 ** 32 - 1); // recorded as given
        let expected = null;
        if (root === ZERO) expected = [ledger, "ZeroRoot", []];
        else if (count === 0) expected = [ledger, "EmptyBatch", []];
        else if (!mine) expected = [ledger, "NotOperator", [c.address]];
        else if (!agencies.get(mine).active) expected = [ledger, "AgencyInactive", [mine]];
        else if (batches.has(ns(mine, root))) expected = [ledger, "AlreadyAnchored", [mine, root]];
        rootsTried.add(root);
        const ts = tick();
        const receipt = await attempt("anchor", c, () => ledger.connect(c).anchor(root, count), expected, ts);
        if (receipt) {
          if (holders(root).length) shared.rootAnchors++;
          batches.set(ns(mine, root), { agency: mine, root, timestamp: ts, block: receipt.blockNumber, count, revoked: null });
          for (const d of trees.get(root).digests) {
            if (!rootsOfDigest.has(d)) rootsOfDigest.set(d, new Set());
            rootsOfDigest.get(d).add(root);
          }
        }
        return [() => checks.root(root), ...(trees.get(root)?.digests ?? []).map((d) => () => checks.digest(d))];
      },
      ...Object.fromEntries(statusActions.map(([fn, to]) => [fn, async (c) => {
        const { root, d, proof } = pickTarget(c, wanted[to]);
        const mine = operatorOf.get(c.address);
        const [reason, ts] = [rnd.int(7), tick()];
        const sim = new Map(status);
        const expected = mine ? change(mine, root, d, proof, to, reason, ts, sim) : [ledger, "NotOperator", [c.address]];
        if (mine) countShared(mine, root, d, expected);
        const receipt = await attempt(fn, c, () => ledger.connect(c)[fn](d, root, proof, reason), expected, ts);
        if (receipt) status.set(ns(mine, d), sim.get(ns(mine, d)));
        return [() => checks.digest(d), () => checks.root(root)];
      }])),
      ...Object.fromEntries(statusActions.map(([fn, to]) => [`${fn}Many`, async (c) => {
        const clean = chance(0.5);
        const picks = Array.from({ length: 1 + rnd.int(3) }, () => pickTarget(c, wanted[to], clean));
        if (chance(0.1)) picks.push(picks[0]); // the same credential twice in one call
        const args = [picks.map((p) => p.d), picks.map((p) => p.root), picks.map((p) => p.proof)];
        const mismatch = chance(0.04);
        if (mismatch) args[rnd.int(3)].pop();
        const mine = operatorOf.get(c.address);
        const [reason, ts] = [rnd.int(7), tick()];
        const sim = new Map(status);
        let expected = null;
        if (mismatch) expected = [ledger, "LengthMismatch", []];
        else if (!mine) expected = [ledger, "NotOperator", [c.address]];
        for (const p of picks) expected ??= change(mine, p.root, p.d, p.proof, to, reason, ts, sim);
        const receipt = await attempt(`${fn}Many`, c, () => ledger.connect(c)[`${fn}Many`](...args, reason), expected, ts);
        if (receipt) {
          for (const p of picks) countShared(mine, p.root, p.d, null);
          for (const [k, s] of sim) status.set(k, s);
        }
        return picks.map((p) => () => checks.digest(p.d));
      }])),
      async revokeRoot(c) {
        const mine = operatorOf.get(c.address);
        const all = [...batches.values()];
        const own = all.filter((b) => b.agency === mine && (!b.revoked || chance(0.3)));
        const others = all.filter((b) => b.agency !== mine);
        const odd = rnd.next();
        const root = odd < 0.05 ? rnd.bytes32()
          : odd < 0.55 && own.length ? rnd.pick(own).root
          : odd < 0.85 && others.length ? rnd.pick(others).root // maybe anchored by the caller's agency too
          : rnd.pick(all).root;
        const batch = batches.get(ns(mine, root));
        const [reason, ts] = [rnd.int(7), tick()];
        let expected = null;
        if (!mine) expected = [ledger, "NotOperator", [c.address]];
        else if (!batch) expected = [ledger, "RootNotAnchored", [mine, root]];
        else if (batch.revoked) expected = [ledger, "RootRevoked", [root]];
        const receipt = await attempt("revokeRoot", c, () => ledger.connect(c).revokeRoot(root, reason), expected, ts);
        if (receipt) {
          if (holders(root).length > 1) shared.rootRevocations++;
          batch.revoked = { reason, since: ts };
        }
        return [() => checks.root(root), ...(trees.get(root)?.digests ?? []).map((d) => () => checks.digest(d))];
      },

      // --- governance
      async registerAgency(c) {
        const odd = rnd.next();
        const code = odd < 0.15 ? CODE_A : odd < 0.3 ? rnd.pick(["ab", "Bad-Code", "under_score", "x".repeat(65)]) : `ag-${SEED}-${fresh++}`;
        const name = chance(0.2) ? badName() : randomName();
        const id = agencyIdOf(code);
        let expected = adminOnly(c);
        if (!expected && !/^[a-z0-9-]{3,64}$/.test(code)) expected = [registry, "InvalidAgencyCode", [code]];
        if (!expected && (Buffer.byteLength(name) === 0 || Buffer.byteLength(name) > 200)) expected = [registry, "InvalidAgencyName", []];
        if (!expected && agencies.has(id)) expected = [registry, "AgencyExists", [id]];
        const receipt = await attempt("registerAgency", c, () => registry.connect(c).registerAgency(code, name), expected, tick());
        if (receipt) agencies.set(id, { active: true, index: agencies.size + 1, code, name });
        return [() => checks.agency(id), async () => expect(await registry.agencyCount()).to.equal(BigInt(agencies.size))];
      },
      async setAgencyName(c) {
        const id = someAgency();
        const name = chance(0.25) ? badName() : randomName();
        let expected = adminOnly(c);
        if (!expected && !agencies.has(id)) expected = [registry, "UnknownAgency", [id]];
        if (!expected && (Buffer.byteLength(name) === 0 || Buffer.byteLength(name) > 200)) expected = [registry, "InvalidAgencyName", []];
        const receipt = await attempt("setAgencyName", c, () => registry.connect(c).setAgencyName(id, name), expected, tick());
        if (receipt) agencies.get(id).name = name;
        return [() => checks.agency(id)];
      },
      async setAgencyActive(c) {
        const [id, active] = [someAgency(), chance(0.65)];
        let expected = adminOnly(c);
        if (!expected && !agencies.has(id)) expected = [registry, "UnknownAgency", [id]];
        const receipt = await attempt("setAgencyActive", c, () => registry.connect(c).setAgencyActive(id, active), expected, tick());
        if (receipt) agencies.get(id).active = active;
        return [() => checks.agency(id)];
      },
      async addOperator(c) {
        const id = someAgency();
        const odd = rnd.next();
        const addr = odd < 0.05 ? ethers.ZeroAddress : odd < 0.5 ? rnd.pick(movable) : odd < 0.6 ? opB.address
          : ethers.getAddress(rnd.bytes32().slice(0, 42));
        let expected = adminOnly(c);
        if (!expected && !agencies.has(id)) expected = [registry, "UnknownAgency", [id]];
        if (!expected && addr === ethers.ZeroAddress) expected = [registry, "ZeroAddress", []];
        if (!expected && operatorOf.has(addr)) expected = [registry, "OperatorAssigned", [addr, operatorOf.get(addr)]];
        const receipt = await attempt("addOperator", c, () => registry.connect(c).addOperator(id, addr), expected, tick());
        if (receipt) {
          operatorOf.set(addr, id);
          if (names.has(addr)) writers.add(id);
        }
        return [() => checks.operator(addr)];
      },
      async removeOperator(c) {
        const assigned = movable.filter((a) => operatorOf.has(a));
        const addr = assigned.length && chance(0.6) ? rnd.pick(assigned) : chance(0.7) ? rnd.pick(movable) : stranger.address;
        let expected = adminOnly(c);
        if (!expected && !operatorOf.has(addr)) expected = [registry, "UnknownOperator", [addr]];
        const receipt = await attempt("removeOperator", c, () => registry.connect(c).removeOperator(addr), expected, tick());
        if (receipt) operatorOf.delete(addr);
        return [() => checks.operator(addr)];
      },
      async setTypePermitted(c) {
        const [id, type, on] = [someAgency(), rnd.pick(TYPES), chance(0.5)];
        let expected = adminOnly(c);
        if (!expected && !agencies.has(id)) expected = [registry, "UnknownAgency", [id]];
        const receipt = await attempt("setTypePermitted", c, () => registry.connect(c).setTypePermitted(id, type, on), expected, tick());
        if (receipt) permits.set(ns(id, type), on);
        return [() => checks.permit(id, type)];
      },
      async grantGovernance(c) {
        const target = rnd.pick([extra.address, opA2.address, gov.address]);
        const expected = adminOnly(c);
        const receipt = await attempt("grantGovernance", c, () => registry.connect(c).grantRole(ADMIN_ROLE, target), expected, tick());
        if (receipt) admins.add(target);
        return [() => checks.admin(target)];
      },
      async revokeGovernance(c) {
        // never the caller itself (renounce does that), so at least one admin always remains
        const others = callers.map((s) => s.address).filter((a) => a !== c.address && a !== stranger.address);
        const target = rnd.pick(others);
        const expected = adminOnly(c);
        const receipt = await attempt("revokeGovernance", c, () => registry.connect(c).revokeRole(ADMIN_ROLE, target), expected, tick());
        if (receipt) admins.delete(target);
        return [() => checks.admin(target)];
      },
      async renounceGovernance(c) {
        if (isAdmin(c) && admins.size === 1) return actions.grantGovernance(c); // keep the registry governable
        const confirmation = chance(0.65) ? c.address : stranger.address === c.address ? gov.address : stranger.address;
        const expected = confirmation === c.address ? null : [registry, "AccessControlBadConfirmation", []];
        const receipt = await attempt("renounceGovernance", c,
          () => registry.connect(c).renounceRole(ADMIN_ROLE, confirmation), expected, tick());
        if (receipt) admins.delete(c.address);
        return [() => checks.admin(c.address)];
      },

      // --- keys: governance, or an operator of the key's own agency; keyed (agency, key)
      async addKey(c, forAgency) {
        const id = forAgency ?? (chance(0.5) && operatorOf.has(c.address) ? operatorOf.get(c.address) : someAgency());
        const odd = rnd.next();
        const elsewhere = [...keys.values()].filter((k) => k.agency !== id);
        const here = [...keys.values()].filter((k) => k.agency === id);
        let key;
        if (odd < 0.07) key = rnd.pick(WEAK_KEYS);
        else if (odd < 0.1) key = (chance(0.5) ? (k) => k : withSignBit)(encodeY(P + BigInt(rnd.int(19)))); // y >= p
        else if (odd < 0.4 && elsewhere.length) key = rnd.pick(elsewhere).key; // bytes another agency holds
        else if (odd < 0.47 && here.length) key = rnd.pick(here).key;
        else key = rnd.bytes32();
        keyBytes.add(key);
        const ts = tick();
        const validFrom = rnd.pick([0, 0, ts - rnd.int(100), ts + 1 + rnd.int(100)]);
        const own = operatorOf.get(c.address);
        let expected = isAdmin(c) || own === id ? null : [registry, "NotAgencyOperator", [c.address, id]];
        if (!expected && !agencies.has(id)) expected = [registry, "UnknownAgency", [id]];
        if (!expected && isWeakKey(key)) expected = [registry, "WeakKey", [key]];
        if (!expected && keys.has(ns(id, key))) expected = [registry, "KeyExists", [id, key]];
        const receipt = await attempt("addKey", c, () => registry.connect(c).addKey(id, key, validFrom), expected, ts);
        if (receipt) {
          if (elsewhere.some((k) => k.key === key)) shared.keyAdds++;
          keys.set(ns(id, key), { agency: id, key, validFrom: validFrom === 0 ? ts : validFrom, revokedAt: 0 });
        }
        return [() => checks.key(key)];
      },
      async revokeKey(c, given) {
        let id;
        let key;
        const registered = [...keys.values()];
        if (given) [id, key] = given;
        else if (registered.length === 0 || chance(0.06)) [id, key] = [operatorOf.get(c.address) ?? someAgency(), rnd.bytes32()];
        else {
          const k = rnd.pick(registered);
          key = k.key;
          // the same bytes in the caller's own namespace (registered there or not), or another agency's
          const odd = rnd.next();
          id = odd < 0.3 && operatorOf.has(c.address) ? operatorOf.get(c.address) : odd < 0.4 ? someAgency() : k.agency;
        }
        keyBytes.add(key);
        const m = keys.get(ns(id, key));
        const ts = tick();
        let at = 0;
        if (m && !given) {
          at = rnd.pick([0, 0, ts, ts + 1 + rnd.int(5), m.validFrom, m.validFrom - 1, m.validFrom + rnd.int(Math.max(1, ts - m.validFrom)),
            ...(m.revokedAt ? [m.revokedAt, m.revokedAt - 1] : [])]);
          at = Math.max(at, 0);
        }
        let expected = null;
        if (!isAdmin(c) && operatorOf.get(c.address) !== id) expected = [registry, "NotAgencyOperator", [c.address, id]];
        else if (!m) expected = [registry, "UnknownKey", [id, key]];
        let effective = at;
        if (!expected) {
          if (at === 0) effective = ts < m.validFrom ? m.validFrom : ts;
          else if (at > ts || at < m.validFrom) expected = [registry, "InvalidRevocationTime", [key, at]];
          if (!expected && m.revokedAt !== 0 && effective >= m.revokedAt) expected = [registry, "InvalidRevocationTime", [key, effective]];
        }
        const receipt = await attempt("revokeKey", c, () => registry.connect(c).revokeKey(id, key, at), expected, ts);
        if (receipt) {
          if (registered.some((k) => k.key === key && k.agency !== id)) shared.keyRevocations++;
          m.revokedAt = effective;
        }
        return [() => checks.key(key)];
      },
      async rotateKey(c) {
        // a new key for the caller's agency (or a random one), then the agency's oldest live key revoked as of now
        const id = operatorOf.get(c.address) ?? rnd.pick(agencyPool());
        const touched = await actions.addKey(c, id);
        const live = [...keys.values()].filter((k) => k.agency === id && k.revokedAt === 0);
        if (live.length === 0) return touched;
        return [...touched, ...(await actions.revokeKey(c, [id, live[0].key]))];
      },
    };

    // Ledger actions three times as likely as registry ones (anchors more, so that namespaces fill and overlap),
    // key actions in between; root revocation (final for a whole batch) rarer.
    const LEDGER = ["anchor", "revoke", "suspend", "reinstate", "revokeMany", "suspendMany", "reinstateMany", "revokeRoot"];
    const KEYS = ["addKey", "revokeKey", "rotateKey"];
    const weight = (name) => (name === "revokeRoot" ? 2 : name === "anchor" ? 9 : LEDGER.includes(name) ? 6 : KEYS.includes(name) ? 3 : 2);
    const deck = Object.keys(actions).flatMap((name) => Array(weight(name)).fill(name));
    /** Any actor can try anything, but the likely ones are picked more often, so that allowed calls are common. */
    function pickCaller(action) {
      const likely = LEDGER.includes(action) ? callers.filter((c) => operatorOf.has(c.address))
        : KEYS.includes(action) ? callers.filter((c) => isAdmin(c) || operatorOf.has(c.address))
        : callers.filter(isAdmin);
      return likely.length && chance(LEDGER.includes(action) || KEYS.includes(action) ? 0.6 : 0.5) ? rnd.pick(likely) : rnd.pick(callers);
    }
    for (const [c, id] of [[opA, A], [opA2, A], [opB, B], [opB, B]]) {
      step++;
      await actions.anchor(c); // a few batches to start with
      expect(operatorOf.get(c.address)).to.equal(id);
    }
    for (step = 1; step <= ACTIONS; step++) {
      const action = rnd.pick(deck);
      const touched = await actions[action](pickCaller(action));
      for (const check of touched) await check();
      if (step % SWEEP === 0) await sweep();
    }
    await sweep();

    // ------------------------------------------------------------------ the run meant something
    if (process.env.AUTH_STATS) console.log(stats, errorsSeen);
    const total = Object.values(stats).reduce((s, x) => ({ ok: s.ok + x.ok, refused: s.refused + x.refused }), { ok: 0, refused: 0 });
    console.log(`      ${total.ok} calls succeeded, ${total.refused} were refused as predicted; ${batches.size} anchors of ` +
      `${new Set([...batches.values()].map((b) => b.root)).size} roots in ${writers.size} namespaces, ${status.size} statuses, ` +
      `${keys.size} keys; shared across agencies: ${JSON.stringify(shared)}`);
    if (ACTIONS < COVERAGE_MIN) {
      console.log(`      (fewer than ${COVERAGE_MIN} actions: coverage of every action and error not required)`);
      return;
    }
    // Coverage, not correctness: every call above already matched the model. A failure here means this
    // seed did not exercise something, so the run proved less than it should; more ACTIONS fixes that.
    const covered = (what) => `coverage (SEED=${SEED}, ACTIONS=${ACTIONS}): ${what}; every call matched the model, try more ACTIONS`;
    for (const name of Object.keys(actions)) {
      if (name === "rotateKey") continue; // counted as addKey + revokeKey
      expect(stats[name], covered(`${name} never called`)).to.not.equal(undefined);
      expect(stats[name].ok, covered(`${name} never succeeded`)).to.be.greaterThan(0);
      // anyone may renounce their own role: its only refusal is a wrong confirmation, which is rarer
      if (name !== "renounceGovernance") expect(stats[name].refused, covered(`${name} never refused anyone`)).to.be.greaterThan(0);
    }
    for (const error of ["NotOperator", "RootNotAnchored", "AlreadyAnchored", "AccessControlUnauthorizedAccount", "NotAgencyOperator",
      "InvalidProof", "CredentialRevoked", "RootRevoked", "WeakKey", "KeyExists", "UnknownKey", "InvalidAgencyName"]) {
      expect(errorsSeen[error] ?? 0, covered(`${error} never predicted`)).to.be.greaterThan(0);
    }
    // the namespaces were really shared: the same roots, digests and key bytes in two agencies
    for (const what of ["rootAnchors", "digestChanges", "keyAdds", "foreignRootRefusals"]) {
      expect(shared[what], covered(`no ${what} across agencies`)).to.be.greaterThan(0);
    }
  });
});
