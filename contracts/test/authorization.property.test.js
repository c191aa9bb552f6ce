// Authorization property, model-based: a seeded random sequence of actions (anchor; revoke, suspend,
// reinstate one or many; revoke a root; register agencies and operators; add, rotate and revoke keys;
// permit types; hand governance over) by random actors (governance, operators of agencies A and B, a
// stranger, and a spare account that governance may promote or make an operator). A plain JS model of
// DESIGN.md's rules (and the contracts' documented ones, e.g. a status belongs to the agency whose root
// containing the digest was anchored first) predicts every call: it must succeed, or revert with
// exactly the predicted custom error and arguments. After every step the chain state the step touched
// (or tried to touch) must equal the model's, and all of it every SWEEP steps and at the end.
//
// Reproducible: block times are set by the test and all randomness comes from the seed, which is
// printed. SEED=<n> (or SEED=random) and ACTIONS=<n> override the defaults: SEED=7 npx hardhat test.
const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture, time } = require("@nomicfoundation/hardhat-network-helpers");
const { ADMIN_ROLE, ACTIVE, SUSPENDED, REVOKED, CODE_A, deployFixture, prng, agencyIdOf } = require("./helpers");
const { buildTree, getProof, processProof } = require("./merkle");

const SEED = process.env.SEED === "random" ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.SEED || 8);
const ACTIONS = Number(process.env.ACTIONS || 500);
const SWEEP = 50;
const TYPES = ["DegreeCertificate", "BirthCertificate", "DrivingLicence"].map((t) => ethers.id(t));
const ZERO = ethers.ZeroHash;

describe("Authorization property (model-based: random actions x random actors)", function () {
  this.timeout(300_000);

  it(`every call does what the model predicts, and the chain equals the model (seed ${SEED}, ${ACTIONS} actions)`, async function () {
    console.log(`      authorization property: SEED=${SEED} ACTIONS=${ACTIONS}`);
    const { registry, ledger, gov, opA, opA2, opB, stranger, extra, A, B } = await loadFixture(deployFixture);
    const rnd = prng(SEED);
    const chance = (p) => rnd.next() < p;
    const names = new Map([[gov, "governance"], [opA, "operator A"], [opA2, "operator A2"], [opB, "operator B"],
      [stranger, "stranger"], [extra, "spare account"]].map(([s, n]) => [s.address, n]));
    const callers = [gov, opA, opA2, opB, stranger, extra];

    // ------------------------------------------------------------------ the model
    const admins = new Set([gov.address]);
    const agencies = new Map([[A, { active: true, index: 1, code: CODE_A }], [B, { active: true, index: 2, code: "sh-civil-affairs" }]]);
    const operatorOf = new Map([[opA.address, A], [opA2.address, A], [opB.address, B]]);
    const permits = new Map(); // `${agency}:${type}` -> bool
    const keys = new Map(); // key -> { agency, validFrom, revokedAt }
    const roots = new Map(); // root -> { agency, timestamp, block, digests, proofs, revoked: null | {reason, since} }
    const refusedRoots = new Set(); // roots whose anchor was refused: must stay unanchored
    const status = new Map(); // digest -> { state, reason, since, owner, ownerBlock }
    const movable = [opA2.address, extra.address]; // operators governance may move (A and B keep opA, opB)
    let fresh = 0;
    let now = (await ethers.provider.getBlock("latest")).timestamp;

    const isAdmin = (c) => admins.has(c.address);
    const adminOnly = (c) => (isAdmin(c) ? null : [registry, "AccessControlUnauthorizedAccount", [c.address, ADMIN_ROLE]]);
    const agencyPool = () => [...agencies.keys()];
    const someAgency = () => (chance(0.1) ? rnd.bytes32() : rnd.pick(agencyPool()));

    // ------------------------------------------------------------------ running one call
    const stats = {};
    const errorsSeen = {};
    let step = 0;
    let takeovers = 0;

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
    const checks = {
      async agency(id) {
        const m = agencies.get(id);
        const [exists, active, index, code] = await registry.agency(id);
        expect([exists, active, index, code], `agency ${id}`).to.deep.equal(
          m ? [true, m.active, BigInt(m.index), m.code] : [false, false, 0n, ""]);
      },
      async operator(addr) {
        expect(await registry.agencyOf(addr), `operator ${addr}`).to.equal(operatorOf.get(addr) ?? ZERO);
      },
      async admin(addr) {
        expect(await registry.hasRole(ADMIN_ROLE, addr), `admin ${addr}`).to.equal(admins.has(addr));
      },
      async permit(id, type) {
        expect(await registry.isPermitted(id, type), `permit ${id} ${type}`).to.equal(permits.get(`${id}:${type}`) ?? false);
      },
      async key(k) {
        const m = keys.get(k);
        expect([...(await registry.keyOf(k))], `key ${k}`).to.deep.equal(
          m ? [m.agency, BigInt(m.validFrom), BigInt(m.revokedAt)] : [ZERO, 0n, 0n]);
      },
      async root(r) {
        const m = roots.get(r);
        expect([...(await ledger.anchorOf(r))], `anchor of ${r}`).to.deep.equal(
          m ? [m.agency, BigInt(m.timestamp), BigInt(m.block)] : [ZERO, 0n, 0n]);
        expect([...(await ledger.rootStatusOf(r))], `root status of ${r}`).to.deep.equal(
          m?.revoked ? [BigInt(REVOKED), BigInt(m.revoked.reason), BigInt(m.revoked.since)] : [0n, 0n, 0n]);
      },
      async digest(d) {
        const m = status.get(d);
        const expected = m ? [BigInt(m.state), BigInt(m.reason), BigInt(m.since)] : [0n, 0n, 0n];
        expect([...(await ledger.statusOf(d))], `status of ${d}`).to.deep.equal(expected);
        for (const [r, batch] of roots) {
          if (!batch.digests.includes(d)) continue;
          const seen = batch.revoked ? [BigInt(REVOKED), BigInt(batch.revoked.reason), BigInt(batch.revoked.since)] : expected;
          expect([...(await ledger.credentialStatus(d, r))], `credential status of ${d} in ${r}`).to.deep.equal(seen);
        }
      },
    };
    async function sweep() {
      expect(await registry.agencyCount()).to.equal(BigInt(agencies.size));
      for (const id of agencies.keys()) {
        await checks.agency(id);
        for (const t of TYPES) await checks.permit(id, t);
      }
      for (const c of callers) await checks.admin(c.address);
      for (const addr of new Set([...callers.map((c) => c.address), ...operatorOf.keys()])) await checks.operator(addr);
      for (const k of keys.keys()) await checks.key(k);
      for (const r of [...roots.keys(), ...refusedRoots]) await checks.root(r);
      for (const d of status.keys()) await checks.digest(d);
    }

    // ------------------------------------------------------------------ credential changes, as the contract rules them
    /** Expected outcome of moving `d` (proved by `proof` in `root`) to `to`, applied to `sim` when allowed. */
    function change(agency, root, d, proof, to, reason, ts, sim) {
      const batch = roots.get(root);
      if (!batch) return [ledger, "RootNotAnchored", [root]];
      if (batch.agency !== agency) return [ledger, "NotRootOwner", [root, agency]];
      if (processProof(d, proof) !== root) return [ledger, "InvalidProof", [d, root]];
      if (batch.revoked) return [ledger, "RootRevoked", [root]];
      const cur = sim.get(d) ?? { state: ACTIVE, owner: null, ownerBlock: 0 };
      let from = cur.state;
      let ownerBlock = batch.block;
      let takeover = false;
      if (cur.owner !== null && cur.owner !== agency) {
        // the agency whose root holding the digest was anchored first owns its status
        if (batch.block >= cur.ownerBlock) return [ledger, "StatusOwnedByOtherAgency", [d]];
        from = ACTIVE; // what the later agency did never counted
        takeover = true;
      } else if (cur.owner === agency) {
        ownerBlock = Math.min(ownerBlock, cur.ownerBlock);
      }
      if (from === REVOKED) return [ledger, "CredentialRevoked", [d]];
      if (to === SUSPENDED && from === SUSPENDED) return [ledger, "AlreadySuspended", [d]];
      if (to === ACTIVE && from !== SUSPENDED) return [ledger, "NotSuspended", [d]];
      sim.set(d, { state: to, reason, since: ts, owner: agency, ownerBlock, takeover });
      return null;
    }

    /** A (root, index, proof) to act on: mostly the caller's agency's live roots, often in state `want`,
     *  sometimes someone else's, an unanchored root or a wrong proof. */
    function pickTarget(c, want, clean = false) {
      const mine = operatorOf.get(c.address);
      let pool = [...roots.entries()].flatMap(([r, b]) => b.digests.map((_, i) => [r, i]));
      if (clean) {
        // what a careful operator would send: its own live roots, credentials in the state the change needs
        const fit = pool.filter(([r, i]) => roots.get(r).agency === mine && !roots.get(r).revoked
          && (want === undefined || (status.get(roots.get(r).digests[i])?.state ?? ACTIVE) === want));
        const [r, i] = rnd.pick(fit.length ? fit : pool);
        return { root: r, d: roots.get(r).digests[i], proof: roots.get(r).proofs[i] };
      }
      if (mine && chance(0.7)) {
        const live = !chance(0.08); // mostly live roots, sometimes a revoked one
        const own = pool.filter(([r]) => roots.get(r).agency === mine && !roots.get(r).revoked === live);
        if (own.length) pool = own;
      }
      const shared = (d) => [...roots.values()].some((b) => b.agency !== mine && b.digests.includes(d));
      if (mine && chance(0.25)) {
        // anchored by another agency too: whichever anchored first owns the status
        const both = pool.filter(([r, i]) => shared(roots.get(r).digests[i]));
        if (both.length) pool = both;
      } else if (mine && chance(0.2)) {
        // contested: a digest this agency anchored whose status another agency set
        const contested = pool.filter(([r, i]) => (status.get(roots.get(r).digests[i])?.owner ?? mine) !== mine);
        if (contested.length) pool = contested;
      } else if (want !== undefined && chance(0.6)) {
        const fit = pool.filter(([r, i]) => (status.get(roots.get(r).digests[i])?.state ?? ACTIVE) === want);
        if (fit.length) pool = fit;
      }
      const [r, i] = rnd.pick(pool);
      const batch = roots.get(r);
      let [root, d, proof] = [r, batch.digests[i], batch.proofs[i]];
      const odd = rnd.next();
      if (odd < 0.04) root = rnd.bytes32(); // never anchored
      else if (odd < 0.08) proof = [rnd.bytes32(), ...proof]; // a proof that leads elsewhere
      return { root, d, proof };
    }
    const wanted = { [REVOKED]: undefined, [SUSPENDED]: ACTIVE, [ACTIVE]: SUSPENDED };

    /** Digests for a new batch: fresh ones, and sometimes copies of digests already anchored by
     *  another agency (which must not let it touch their status) or by the same one. */
    function batchDigests(c) {
      const n = 1 + rnd.int(4);
      const out = new Set();
      const anchored = [...roots.values()].flatMap((b) => b.digests);
      while (out.size < n) out.add(anchored.length && chance(0.3) ? rnd.pick(anchored) : rnd.bytes32());
      return [...out];
    }

    // ------------------------------------------------------------------ the actions
    const statusActions = [["revoke", REVOKED], ["suspend", SUSPENDED], ["reinstate", ACTIVE]];
    const actions = {
      async anchor(c) {
        const digests = batchDigests(c);
        const tree = buildTree(digests);
        let [root, count] = [tree.root, digests.length];
        const odd = rnd.next();
        if (odd < 0.03) root = ZERO;
        else if (odd < 0.06) count = 0;
        else if (odd < 0.12 && roots.size) root = rnd.pick([...roots.keys()]);
        const mine = operatorOf.get(c.address);
        let expected = null;
        if (root === ZERO) expected = [ledger, "ZeroRoot", []];
        else if (count === 0) expected = [ledger, "EmptyBatch", []];
        else if (!mine) expected = [ledger, "NotOperator", [c.address]];
        else if (!agencies.get(mine).active) expected = [ledger, "AgencyInactive", [mine]];
        else if (roots.has(root)) expected = [ledger, "AlreadyAnchored", [root]];
        const ts = tick();
        const receipt = await attempt("anchor", c, () => ledger.connect(c).anchor(root, count), expected, ts);
        if (receipt) {
          roots.set(root, { agency: mine, timestamp: ts, block: receipt.blockNumber, digests,
            proofs: digests.map((_, i) => getProof(tree, i)), revoked: null });
        } else if (!roots.has(root) && root !== ZERO) refusedRoots.add(root);
        return [() => checks.root(root), ...digests.map((d) => () => checks.digest(d))];
      },
      ...Object.fromEntries(statusActions.map(([fn, to]) => [fn, async (c) => {
        const { root, d, proof } = pickTarget(c, wanted[to]);
        const mine = operatorOf.get(c.address);
        const [reason, ts] = [rnd.int(7), tick()];
        const sim = new Map(status);
        const expected = mine ? change(mine, root, d, proof, to, reason, ts, sim) : [ledger, "NotOperator", [c.address]];
        const receipt = await attempt(fn, c, () => ledger.connect(c)[fn](d, root, proof, reason), expected, ts);
        if (receipt) {
          takeovers += sim.get(d).takeover ? 1 : 0;
          status.set(d, sim.get(d));
        }
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
          for (const p of picks) takeovers += sim.get(p.d).takeover ? 1 : 0;
          for (const [d, s] of sim) status.set(d, s);
        }
        return picks.map((p) => () => checks.digest(p.d));
      }])),
      async revokeRoot(c) {
        const mine = operatorOf.get(c.address);
        const own = [...roots.keys()].filter((r) => roots.get(r).agency === mine && (!roots.get(r).revoked || chance(0.3)));
        const root = chance(0.05) ? rnd.bytes32() : own.length && chance(0.6) ? rnd.pick(own) : rnd.pick([...roots.keys()]);
        const batch = roots.get(root);
        const [reason, ts] = [rnd.int(7), tick()];
        let expected = null;
        if (!mine) expected = [ledger, "NotOperator", [c.address]];
        else if (!batch) expected = [ledger, "RootNotAnchored", [root]];
        else if (batch.agency !== mine) expected = [ledger, "NotRootOwner", [root, mine]];
        else if (batch.revoked) expected = [ledger, "RootRevoked", [root]];
        const receipt = await attempt("revokeRoot", c, () => ledger.connect(c).revokeRoot(root, reason), expected, ts);
        if (receipt) batch.revoked = { reason, since: ts };
        return [() => checks.root(root), ...(batch?.digests ?? []).map((d) => () => checks.digest(d))];
      },

      // --- governance
      async registerAgency(c) {
        const odd = rnd.next();
        const code = odd < 0.15 ? CODE_A : odd < 0.3 ? rnd.pick(["ab", "Bad-Code", "under_score", "x".repeat(65)]) : `ag-${SEED}-${fresh++}`;
        const valid = /^[a-z0-9-]{3,64}$/.test(code);
        const id = agencyIdOf(code);
        let expected = adminOnly(c);
        if (!expected && !valid) expected = [registry, "InvalidAgencyCode", [code]];
        if (!expected && agencies.has(id)) expected = [registry, "AgencyExists", [id]];
        const receipt = await attempt("registerAgency", c, () => registry.connect(c).registerAgency(code), expected, tick());
        if (receipt) agencies.set(id, { active: true, index: agencies.size + 1, code });
        return [() => checks.agency(id), async () => expect(await registry.agencyCount()).to.equal(BigInt(agencies.size))];
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
        if (receipt) operatorOf.set(addr, id);
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
        if (receipt) permits.set(`${id}:${type}`, on);
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

      // --- keys: governance, or an operator of the key's own agency
      async addKey(c, forAgency) {
        const id = forAgency ?? (chance(0.5) && operatorOf.has(c.address) ? operatorOf.get(c.address) : someAgency());
        const odd = rnd.next();
        const key = odd < 0.05 ? ZERO : odd < 0.12 && keys.size ? rnd.pick([...keys.keys()]) : rnd.bytes32();
        const ts = tick();
        const validFrom = rnd.pick([0, 0, ts - rnd.int(100), ts + 1 + rnd.int(100)]);
        const own = operatorOf.get(c.address);
        let expected = isAdmin(c) || own === id ? null : [registry, "NotAgencyOperator", [c.address, id]];
        if (!expected && !agencies.has(id)) expected = [registry, "UnknownAgency", [id]];
        if (!expected && key === ZERO) expected = [registry, "ZeroKey", []];
        if (!expected && keys.has(key)) expected = [registry, "KeyExists", [key]];
        const receipt = await attempt("addKey", c, () => registry.connect(c).addKey(id, key, validFrom), expected, ts);
        if (receipt) keys.set(key, { agency: id, validFrom: validFrom === 0 ? ts : validFrom, revokedAt: 0 });
        return [() => checks.key(key)];
      },
      async revokeKey(c, given) {
        const key = given ?? (chance(0.06) || keys.size === 0 ? rnd.bytes32() : rnd.pick([...keys.keys()]));
        const m = keys.get(key);
        const ts = tick();
        let at = 0;
        if (m && !given) {
          at = rnd.pick([0, 0, ts, ts + 1 + rnd.int(5), m.validFrom, m.validFrom - 1, m.validFrom + rnd.int(Math.max(1, ts - m.validFrom)),
            ...(m.revokedAt ? [m.revokedAt, m.revokedAt - 1] : [])]);
          at = Math.max(at, 0);
        }
        let expected = null;
        if (!m) expected = [registry, "UnknownKey", [key]];
        else if (!isAdmin(c) && operatorOf.get(c.address) !== m.agency) expected = [registry, "NotAgencyOperator", [c.address, m.agency]];
        let effective = at;
        if (!expected) {
          if (at === 0) effective = ts < m.validFrom ? m.validFrom : ts;
          else if (at > ts || at < m.validFrom) expected = [registry, "InvalidRevocationTime", [key, at]];
          if (!expected && m.revokedAt !== 0 && effective >= m.revokedAt) expected = [registry, "InvalidRevocationTime", [key, effective]];
        }
        const receipt = await attempt("revokeKey", c, () => registry.connect(c).revokeKey(key, at), expected, ts);
        if (receipt) m.revokedAt = effective;
        return [() => checks.key(key)];
      },
      async rotateKey(c) {
        // a new key for the caller's agency (or a random one), then the agency's oldest live key revoked as of now
        const id = operatorOf.get(c.address) ?? rnd.pick(agencyPool());
        const touched = await actions.addKey(c, id);
        const live = [...keys.entries()].filter(([, k]) => k.agency === id && k.revokedAt === 0);
        if (live.length === 0) return touched;
        return [...touched, ...(await actions.revokeKey(c, live[0][0]))];
      },
    };

    // Ledger actions three times as likely as registry ones; root revocation (final for a whole batch) rarer.
    const LEDGER = ["anchor", "revoke", "suspend", "reinstate", "revokeMany", "suspendMany", "reinstateMany", "revokeRoot"];
    const KEYS = ["addKey", "revokeKey", "rotateKey"];
    const weight = (name) => (name === "revokeRoot" ? 2 : LEDGER.includes(name) ? 6 : 2);
    const deck = Object.keys(actions).flatMap((name) => Array(weight(name)).fill(name));
    /** Any actor can try anything, but the likely ones are picked more often, so that allowed calls are common. */
    function pickCaller(action) {
      const likely = LEDGER.includes(action) ? callers.filter((c) => operatorOf.has(c.address))
        : KEYS.includes(action) ? callers.filter((c) => isAdmin(c) || operatorOf.has(c.address))
        : callers.filter(isAdmin);
      return likely.length && chance(0.6) ? rnd.pick(likely) : rnd.pick(callers);
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
    console.log(`      ${total.ok} calls succeeded, ${total.refused} were refused as predicted; ${takeovers} status take-overs ` +
      `by an earlier anchor; ${roots.size} roots, ${status.size} credentials with a status, ${keys.size} keys`);
    for (const name of Object.keys(actions)) {
      if (name === "rotateKey") continue; // counted as addKey + revokeKey
      expect(stats[name], `${name} never called`).to.not.equal(undefined);
      expect(stats[name].ok, `${name} never succeeded`).to.be.greaterThan(0);
      // anyone may renounce their own role: its only refusal is a wrong confirmation, which is rarer
      if (name !== "renounceGovernance") expect(stats[name].refused, `${name} never refused anyone`).to.be.greaterThan(0);
    }
    for (const error of ["NotOperator", "NotRootOwner", "StatusOwnedByOtherAgency", "AccessControlUnauthorizedAccount",
      "NotAgencyOperator", "InvalidProof", "CredentialRevoked", "RootRevoked"]) {
      expect(errorsSeen[error] ?? 0, `${error} never predicted`).to.be.greaterThan(0);
    }
  });
});
