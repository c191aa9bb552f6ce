// The verification of protocol.md section 10: six checks, skip rules, verdict.

import { isObject, isArray, isString, deepEqual } from './json.mjs';
import { jcsBytes, NotCanonicalizable } from './jcs.mjs';
import {
  sha256, keccak256, utf8, toHex, fromHex, concat, compareBytes, decodeDidKey, decodeMultibaseZ,
} from './codec.mjs';
import { weakKeyReason, verifyEd25519 } from './ed25519.mjs';
import { parseDateTimeStamp, formatSeconds } from './time.mjs';
import { parseBundle, checkCredential, FormatError } from './format.mjs';
import { ChainError, DeploymentReader } from './chain.mjs';

export const CHECK_NAMES = ['format', 'integrity', 'anchor', 'issuer', 'status', 'validity'];

const result = (status, code, detail) => ({ status, code, ...(detail ? { detail } : {}) });
const VALID = (code, detail) => result('VALID', code, detail);
const INVALID = (code, detail) => result('INVALID', code, detail);
const ERROR = (code, detail) => result('ERROR', code, detail);
const SKIPPED = (after) => result('SKIPPED', 'SKIPPED', `the ${after} check did not pass`);

// ---- integrity (4.2) --------------------------------------------------------------------------

class ProofFailure extends Error {
  constructor(code, detail) {
    super(detail);
    this.code = code;
  }
}

const without = (map, key) => new Map([...map].filter(([k]) => k !== key));
const asList = (x) => (isArray(x) ? x : [x]);

/**
 * Verify an eddsa-jcs-2022 proof (4.2 steps 1-10). Returns {key, hashData, …} or throws ProofFailure.
 * `resolvedKey` (32 bytes) is for the W3C vectors whose verification method is a URL this protocol
 * does not resolve (12.2): the key is then taken as given, and step 4 only requires a string.
 */
export function verifyProof(C, { resolvedKey } = {}) {
  // 1
  if (!C.has('proof')) throw new ProofFailure('PROOF_MISSING');
  const P = C.get('proof');
  if (isArray(P)) throw new ProofFailure('PROOF_SET_UNSUPPORTED');
  if (!isObject(P)) throw new ProofFailure('PROOF_MALFORMED');
  // 2
  if (P.get('type') !== 'DataIntegrityProof') throw new ProofFailure('WRONG_PROOF_TYPE');
  if (P.get('cryptosuite') !== 'eddsa-jcs-2022') throw new ProofFailure('WRONG_CRYPTOSUITE');
  if (P.get('proofPurpose') !== 'assertionMethod') throw new ProofFailure('WRONG_PROOF_PURPOSE');
  // 3: a dateTimeStamp, any zone, within years 1-9999 (3.4 rule 6)
  if (P.has('created')) {
    try {
      parseDateTimeStamp(P.get('created'));
    } catch {
      throw new ProofFailure('INVALID_CREATED');
    }
  }
  // 4
  const vm = P.get('verificationMethod');
  if (!isString(vm)) throw new ProofFailure('INVALID_VERIFICATION_METHOD');
  let key;
  if (resolvedKey) {
    key = resolvedKey;
  } else {
    if (!vm.startsWith('did:key:')) throw new ProofFailure('INVALID_VERIFICATION_METHOD', 'not a did:key');
    const hash = vm.indexOf('#'); // the first '#'
    if (hash < 0) throw new ProofFailure('INVALID_VERIFICATION_METHOD', 'no fragment');
    const did = vm.slice(0, hash);
    const fragment = vm.slice(hash + 1);
    key = decodeDidKey(did);
    if (!key || fragment !== did.slice('did:key:'.length)) throw new ProofFailure('INVALID_VERIFICATION_METHOD');
  }
  const weak = weakKeyReason(key);
  if (weak) throw new ProofFailure('WEAK_KEY', weak);
  // 5
  const signature = decodeMultibaseZ(P.get('proofValue'), { allowEmpty: true });
  if (!signature || signature.length !== 64) throw new ProofFailure('INVALID_PROOF_VALUE');
  // 6
  const unsecured = without(C, 'proof');
  const options = without(P, 'proofValue');
  // 7: present with any value (null included): `own` must start with `signed`, compared as JSON values
  // (json.mjs deepEqual), then the proof's @context, exactly as written, replaces the document's
  if (options.has('@context')) {
    const own = C.has('@context') ? asList(C.get('@context')) : [];
    const signed = asList(options.get('@context'));
    if (signed.length > own.length || !signed.every((x, k) => deepEqual(x, own[k]))) {
      throw new ProofFailure('CONTEXT_MISMATCH');
    }
    unsecured.set('@context', options.get('@context'));
  }
  // 8
  let canonicalDocument, canonicalProofConfig;
  try {
    canonicalDocument = jcsBytes(unsecured);
    canonicalProofConfig = jcsBytes(options);
  } catch (e) {
    if (e instanceof NotCanonicalizable) throw new ProofFailure('NOT_CANONICALIZABLE', e.message);
    throw e;
  }
  // 9
  const hashData = concat(sha256(canonicalProofConfig), sha256(canonicalDocument));
  // 10
  if (!verifyEd25519(key, hashData, signature)) throw new ProofFailure('INVALID_SIGNATURE');
  return { key, hashData, canonicalDocument, canonicalProofConfig, signature };
}

function integrityCheck(C) {
  try {
    verifyProof(C);
    return VALID('SIGNATURE_VALID');
  } catch (e) {
    if (e instanceof ProofFailure) return INVALID(e.code, e.message || undefined);
    throw e;
  }
}

// ---- digest and Merkle path (5.1, 5.3) --------------------------------------------------------

export const leafOf = (digest) => keccak256(digest);
export const parentOf = (a, b) => keccak256(compareBytes(a, b) <= 0 ? concat(a, b) : concat(b, a));

export function foldPath(digest, path) {
  let node = leafOf(digest);
  for (const sibling of path) node = parentOf(node, sibling);
  return node;
}

// ---- the six checks ---------------------------------------------------------------------------

function sameAccount(a, b) {
  return a.chainId === b.chainId && a.address === b.address;
}

/** Pick the trust root of the bundle's deployment (10.1 rule 2), or null. */
function findTrustRoot(trustRoots, anchor) {
  return (
    trustRoots.find(
      (r) =>
        sameAccount({ chainId: r.chainId, address: r.ledger }, anchor.ledger) &&
        sameAccount({ chainId: r.chainId, address: r.registry }, anchor.registry),
    ) || null
  );
}

async function anchorCheck(ctx) {
  const { anchor, credential } = ctx.bundle;
  if (anchor === null) return INVALID('NOT_ANCHORED');
  const root = findTrustRoot(ctx.trustRoots, anchor);
  if (!root) return INVALID('UNTRUSTED_DEPLOYMENT');
  let D;
  try {
    D = sha256(jcsBytes(credential));
  } catch (e) {
    if (e instanceof NotCanonicalizable) return INVALID('NOT_CANONICALIZABLE', e.message);
    throw e;
  }
  ctx.D = D;
  if (toHex(D) !== anchor.digest) return INVALID('DIGEST_MISMATCH', `${toHex(D)} != ${anchor.digest}`);
  const folded = foldPath(D, anchor.path.map(fromHex));
  if (toHex(folded) !== anchor.root) return INVALID('MERKLE_PATH_INVALID', `path leads to ${toHex(folded)}`);
  ctx.reader = new DeploymentReader(ctx.rpcFor(root), root);
  let a;
  try {
    a = await ctx.reader.anchorOf(ctx.A, fromHex(anchor.root));
  } catch (e) {
    if (e instanceof ChainError) return ERROR('CHAIN_UNAVAILABLE', e.message);
    throw e;
  }
  if (a.blockNumber === 0n) return INVALID('ROOT_NOT_ANCHORED');
  ctx.t = a.timestamp;
  return VALID('ANCHORED', `at ${formatSeconds(a.timestamp)} (block ${a.blockNumber})`);
}

async function issuerCheck(ctx) {
  const r = ctx.reader;
  let info, key, permitted;
  try {
    info = await r.agencyInfo(ctx.A);
  } catch (e) {
    if (e instanceof ChainError) return ERROR('CHAIN_UNAVAILABLE', e.message);
    throw e;
  }
  // registered exactly when `code` is not empty; the code is not compared with the credential's, and
  // `active` is not considered (10.3 check 4 step 1)
  if (info.code === '') return INVALID('AGENCY_NOT_REGISTERED');
  ctx.agencyName = info.name; // shown in the report (10.6), even when a later read fails
  // keyOf, then isPermitted; a failed read is ERROR at once, nothing already read is judged (10.2)
  try {
    key = await r.keyOf(ctx.A, ctx.fields.key);
    permitted = await r.isPermitted(ctx.A, ctx.typeId);
  } catch (e) {
    if (e instanceof ChainError) return ERROR('CHAIN_UNAVAILABLE', e.message);
    throw e;
  }
  const t = ctx.t;
  if (key.validFrom === 0n) return INVALID('KEY_NOT_REGISTERED');
  if (key.validFrom > t) return INVALID('KEY_NOT_YET_VALID', `valid from ${formatSeconds(key.validFrom)}`);
  if (key.revokedAt !== 0n && key.revokedAt <= t) return INVALID('KEY_REVOKED', `revoked as of ${formatSeconds(key.revokedAt)}`);
  if (!permitted) return INVALID('TYPE_NOT_PERMITTED');
  if (ctx.fields.created > t * 1000000n) return INVALID('CREATED_AFTER_ANCHOR');
  return VALID('ISSUER_AUTHORISED', info.name);
}

async function statusCheck(ctx) {
  // rootStatusOf, then statusOf; a failed read is ERROR whatever the other said (10.2)
  let rootStatus, status;
  try {
    rootStatus = await ctx.reader.rootStatusOf(ctx.A, fromHex(ctx.bundle.anchor.root));
    status = await ctx.reader.statusOf(ctx.A, ctx.D);
  } catch (e) {
    if (e instanceof ChainError) return ERROR('CHAIN_UNAVAILABLE', e.message);
    throw e;
  }
  const judge = (s, scope) => {
    if (s.state === 0n) return null;
    const why = `state ${s.state}, reason ${s.reason}, since ${formatSeconds(s.since)}`; // 10.6: times past year 9999
    if (s.state === 2n) return INVALID(scope === 'batch' ? 'BATCH_REVOKED' : 'REVOKED', why);
    if (s.state === 1n) return INVALID(scope === 'batch' ? 'BATCH_SUSPENDED' : 'SUSPENDED', why);
    return INVALID('UNKNOWN_STATE', `${scope}: ${why}`);
  };
  return judge(rootStatus, 'batch') || judge(status, 'credential') || VALID('STATUS_ACTIVE');
}

function validityCheck(ctx) {
  const { validFrom, validUntil } = ctx.fields;
  if (ctx.now < validFrom) return INVALID('NOT_YET_VALID');
  if (validUntil !== null && ctx.now > validUntil) return INVALID('EXPIRED');
  return VALID('WITHIN_VALIDITY');
}

async function guarded(fn) {
  try {
    return await fn();
  } catch (e) {
    return ERROR('INTERNAL_ERROR', String(e && e.stack ? e.stack.split('\n')[0] : e));
  }
}

/** The verdict of 10.4. */
export function verdictOf(checks) {
  const present = CHECK_NAMES.every((n) => checks.some((c) => c.name === n));
  if (present && checks.every((c) => c.status === 'VALID')) return 'VALID';
  if (checks.some((c) => c.status === 'INVALID')) return 'INVALID';
  if (checks.some((c) => c.status === 'ERROR')) return 'ERROR';
  return 'INVALID';
}

/** The report's `credential` object (10.6): {} unless `format` passed. */
function credentialSection(ctx, out) {
  if (out.format.status !== 'VALID') return {};
  const c = ctx.bundle.credential;
  const issuer = c.get('issuer');
  return {
    id: c.get('id'),
    type: ctx.fields.typeName,
    issuer: {
      id: issuer.get('id'),
      name: issuer.get('name'),
      agency: { code: ctx.fields.agencyCode, name: ctx.agencyName ?? null },
    },
    anchoredAt: out.anchor.status === 'VALID' ? formatSeconds(ctx.t) : null,
  };
}

/**
 * Verify one bundle text (bytes).
 * options: {trustRoots: [{chainId, ledger, registry}], rpcFor: (root) => RpcClient, now: BigInt micros}
 */
export async function verifyBundle(bytes, { trustRoots, rpcFor, now }) {
  const out = {};
  const ctx = { trustRoots, rpcFor, now };

  out.format = await guarded(async () => {
    try {
      ctx.bundle = parseBundle(bytes);
      ctx.fields = checkCredential(ctx.bundle.credential);
    } catch (e) {
      if (e instanceof FormatError) return INVALID(e.code, e.message);
      throw e;
    }
    ctx.A = keccak256(utf8(ctx.fields.agencyCode));
    ctx.typeId = keccak256(utf8(ctx.fields.typeName));
    return VALID('FORMAT_OK');
  });

  if (out.format.status !== 'VALID') {
    for (const n of CHECK_NAMES.slice(1)) out[n] = SKIPPED('format');
  } else {
    out.integrity = await guarded(() => integrityCheck(ctx.bundle.credential));
    out.anchor = await guarded(() => anchorCheck(ctx));
    if (out.anchor.status !== 'VALID') out.issuer = SKIPPED('anchor');
    else if (out.integrity.status !== 'VALID') out.issuer = SKIPPED('integrity');
    else out.issuer = await guarded(() => issuerCheck(ctx));
    out.status = out.anchor.status === 'VALID' ? await guarded(() => statusCheck(ctx)) : SKIPPED('anchor');
    out.validity = await guarded(() => validityCheck(ctx));
  }
  const checks = CHECK_NAMES.map((name) => ({ name, ...out[name] }));
  return { verdict: verdictOf(checks), checks, credential: credentialSection(ctx, out) };
}

