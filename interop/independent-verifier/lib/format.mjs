// The `format` check: bundle parsing (protocol.md 7.2, 7.3) and the credential rules (3.2-3.7).

import { parseStrict, JsonError, JNum, isObject, isArray, isString, isNumber } from './json.mjs';
import { HEX32, parseCaip10, decodeDidKey } from './codec.mjs';
import { parseDateTimeStamp, DateError } from './time.mjs';

export class FormatError extends Error {
  constructor(code, field, reason) {
    super(`${field}: ${reason}`);
    this.code = code;
    this.field = field;
    this.reason = reason;
  }
}

const bundleErr = (field, reason) => new FormatError('BUNDLE_MALFORMED', field, reason);
const credErr = (field, reason) => new FormatError('CREDENTIAL_MALFORMED', field, reason);

const TOP_MEMBERS = new Set(['type', 'version', 'credential', 'anchor']);
const ANCHOR_MEMBERS = ['ledger', 'registry', 'digest', 'root', 'path', 'txHash', 'blockNumber'];
const U64_MAX = 2n ** 64n - 1n;

/**
 * Parse a bundle text (bytes) strictly. Returns {credential, anchor} where anchor is null or
 * {ledger, registry (parsed CAIP-10), digest, root, path, txHash, blockNumber}. Throws FormatError.
 */
export function parseBundle(bytes) {
  // 7.2 rule 1
  let doc;
  try {
    doc = parseStrict(bytes);
  } catch (e) {
    if (e instanceof JsonError) throw bundleErr('(text)', e.message);
    throw e;
  }
  // rule 2
  if (!isObject(doc)) throw bundleErr('(top level)', 'not an object');
  for (const k of doc.keys()) if (!TOP_MEMBERS.has(k)) throw bundleErr(k, 'unknown field');
  // rule 3
  if (doc.get('type') !== 'CertLedgerBundle') throw bundleErr('type', 'must be "CertLedgerBundle"');
  // rule 4 and 7.3
  const version = doc.get('version');
  if (!doc.has('version')) throw bundleErr('version', 'missing');
  if (!(isNumber(version) && version.isIntegerToken)) throw bundleErr('version', 'not a JSON integer');
  if (version.bigint() !== 2n) {
    throw new FormatError('UNSUPPORTED_VERSION', 'version', `version ${version.raw}; this verifier reads version 2`);
  }
  // rule 5
  if (!doc.has('credential')) throw bundleErr('credential', 'missing');
  const credential = doc.get('credential');
  if (!isObject(credential)) throw bundleErr('credential', 'not an object');
  // rule 6
  if (!doc.has('anchor')) throw bundleErr('anchor', 'missing');
  const a = doc.get('anchor');
  let anchor = null;
  if (a !== null) {
    if (!isObject(a)) throw bundleErr('anchor', 'neither null nor an object');
    // rule 7
    for (const k of a.keys()) if (!ANCHOR_MEMBERS.includes(k)) throw bundleErr(`anchor.${k}`, 'unknown field');
    for (const k of ANCHOR_MEMBERS) if (!a.has(k)) throw bundleErr(`anchor.${k}`, 'missing');
    let ledger, registry;
    try {
      ledger = parseCaip10(a.get('ledger'));
    } catch (e) {
      throw bundleErr('anchor.ledger', e.message);
    }
    try {
      registry = parseCaip10(a.get('registry'));
    } catch (e) {
      throw bundleErr('anchor.registry', e.message);
    }
    if (ledger.chainId !== registry.chainId) throw bundleErr('anchor.registry', 'not on the chain of the ledger');
    for (const k of ['digest', 'root']) {
      if (!isString(a.get(k)) || !HEX32.test(a.get(k))) throw bundleErr(`anchor.${k}`, 'not 32-byte lower-case hex');
    }
    const path = a.get('path');
    if (!isArray(path)) throw bundleErr('anchor.path', 'not an array');
    if (path.length > 64) throw bundleErr('anchor.path', 'more than 64 elements');
    path.forEach((p, k) => {
      if (!isString(p) || !HEX32.test(p)) throw bundleErr(`anchor.path[${k}]`, 'not 32-byte lower-case hex');
    });
    if (!isString(a.get('txHash')) || !HEX32.test(a.get('txHash'))) {
      throw bundleErr('anchor.txHash', 'not 32-byte lower-case hex');
    }
    const bn = a.get('blockNumber');
    if (!(isNumber(bn) && bn.isIntegerToken)) throw bundleErr('anchor.blockNumber', 'not a JSON integer');
    const bnv = bn.bigint();
    if (bnv < 0n || bnv > U64_MAX) throw bundleErr('anchor.blockNumber', 'out of range');
    anchor = {
      ledger,
      registry,
      digest: a.get('digest'),
      root: a.get('root'),
      path: [...path],
      txHash: a.get('txHash'),
      blockNumber: bnv,
    };
  }
  return { credential, anchor };
}

// ---- credential (3.2 - 3.7) -------------------------------------------------------------------

const CONTEXTS = ['https://www.w3.org/ns/credentials/v2', 'https://www.w3.org/ns/credentials/undefined-terms/v2'];
const UUID_URN = /^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const TYPE_NAME = /^[A-Z][A-Za-z0-9]{2,63}$/;
const RESERVED_TYPES = new Set(['VerifiableCredential', 'VerifiablePresentation']);
const AGENCY_IRI = /^urn:certledger:agency:([a-z0-9-]{3,64})$/;
const STATUS_INDEX = /^(0|[1-9][0-9]{0,9})$/;

// White space as Python's str.isspace defines it (3.2 rule 5.3: Unicode Zs, or bidi class WS, B, S).
const SPACE_CODES = [
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002,
  0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
];
const SPACE = new Set(SPACE_CODES);
const SPACE_CLASS = SPACE_CODES.map((c) => '\\u' + c.toString(16).padStart(4, '0')).join('');
// 3.5 rule 2.4, `https?://[^\s#]+` with \s read as the same white space (see README, gap G7)
const STATUS_LIST_URL = new RegExp(`^https?://[^${SPACE_CLASS}#]+$`);

export const isSpace = (ch) => SPACE.has(ch.codePointAt(0));

/** The agency code of an agency IRI (2.3), or null. */
export function agencyCodeOf(iri) {
  const m = isString(iri) ? AGENCY_IRI.exec(iri) : null;
  return m ? m[1] : null;
}

function checkNumbers(v, path) {
  // 3.7: every number read as a double must be finite and of magnitude at most 2^53 - 1
  if (v instanceof JNum) {
    if (!Number.isFinite(v.value)) throw credErr(path, 'number is not finite as a double');
    if (Math.abs(v.value) > Number.MAX_SAFE_INTEGER) throw credErr(path, 'number beyond +/-(2^53 - 1) (I-JSON)');
    return;
  }
  if (isArray(v)) v.forEach((x, k) => checkNumbers(x, `${path}[${k}]`));
  else if (isObject(v)) for (const [k, x] of v) checkNumbers(x, `${path}.${k}`);
}

function parseTime(value, field, { utc }) {
  let t;
  try {
    t = parseDateTimeStamp(value);
  } catch (e) {
    if (e instanceof DateError) throw credErr(field, e.message);
    throw e;
  }
  if (utc && !t.utc) throw credErr(field, 'not in UTC');
  return t.micros;
}

/**
 * Check a credential (a Map) against 3.2-3.7. Returns what later checks need:
 * {agencyCode, typeName, key (32 bytes), validFrom, validUntil (micros or null), created (micros)}.
 */
export function checkCredential(c) {
  if (!isObject(c)) throw credErr('credential', 'not an object');

  // 2. @context
  const ctx = c.get('@context');
  if (!(isArray(ctx) && ctx.length === 2 && ctx[0] === CONTEXTS[0] && ctx[1] === CONTEXTS[1])) {
    throw credErr('@context', `must be exactly ${JSON.stringify(CONTEXTS)}`);
  }
  // 3. id
  if (!isString(c.get('id')) || !UUID_URN.test(c.get('id'))) throw credErr('id', 'not urn:uuid:<uuid>');
  // 4. type
  const type = c.get('type');
  if (!(isArray(type) && type.length === 2 && type[0] === 'VerifiableCredential')) {
    throw credErr('type', 'must be ["VerifiableCredential", <type name>]');
  }
  if (!isString(type[1]) || !TYPE_NAME.test(type[1]) || RESERVED_TYPES.has(type[1])) {
    throw credErr('type[1]', 'not a valid credential type name');
  }
  // 5. issuer
  const issuer = c.get('issuer');
  if (!isObject(issuer)) throw credErr('issuer', 'not an object');
  const issuerId = issuer.get('id');
  const key = decodeDidKey(issuerId);
  if (!key) throw credErr('issuer.id', 'not a did:key of an Ed25519 key');
  const agencyCode = agencyCodeOf(issuer.get('agency'));
  if (agencyCode === null) throw credErr('issuer.agency', 'not urn:certledger:agency:<code>');
  const name = issuer.get('name');
  if (!isString(name) || ![...name].some((ch) => !isSpace(ch))) {
    throw credErr('issuer.name', 'not a string with a non-space character');
  }
  // 6. validFrom / validUntil
  if (!c.has('validFrom')) throw credErr('validFrom', 'missing');
  const validFrom = parseTime(c.get('validFrom'), 'validFrom', { utc: true });
  let validUntil = null;
  if (c.has('validUntil')) {
    validUntil = parseTime(c.get('validUntil'), 'validUntil', { utc: true });
    if (!(validUntil > validFrom)) throw credErr('validUntil', 'not later than validFrom');
  }
  // 7. credentialSubject
  if (!isObject(c.get('credentialSubject'))) throw credErr('credentialSubject', 'not an object');
  // 8. credentialStatus (3.5)
  checkCredentialStatus(c.get('credentialStatus'));
  // 9. proof (3.6)
  if (!c.has('proof') || c.get('proof') === null) throw credErr('proof', 'missing');
  const proof = c.get('proof');
  if (isArray(proof)) throw credErr('proof', 'a proof set is not supported');
  if (!isObject(proof)) throw credErr('proof', 'not an object');
  if (proof.get('type') !== 'DataIntegrityProof') throw credErr('proof.type', 'not DataIntegrityProof');
  if (proof.get('cryptosuite') !== 'eddsa-jcs-2022') throw credErr('proof.cryptosuite', 'not eddsa-jcs-2022');
  if (proof.get('proofPurpose') !== 'assertionMethod') throw credErr('proof.proofPurpose', 'not assertionMethod');
  if (!proof.has('created')) throw credErr('proof.created', 'missing');
  const created = parseTime(proof.get('created'), 'proof.created', { utc: false });
  const expectedVm = `${issuerId}#${issuerId.slice('did:key:'.length)}`;
  if (proof.get('verificationMethod') !== expectedVm) {
    throw credErr('proof.verificationMethod', 'not issuer.id + "#" + its multibase key');
  }
  const pv = proof.get('proofValue');
  if (!isString(pv) || !pv.startsWith('z')) throw credErr('proof.proofValue', 'not a base58btc multibase string');
  // 10. numbers
  checkNumbers(c, 'credential');
  return { agencyCode, typeName: type[1], key, validFrom, validUntil, created };
}

function checkCredentialStatus(cs) {
  if (!isArray(cs) || cs.length !== 2) throw credErr('credentialStatus', 'not an array of two entries');
  const purposes = [];
  cs.forEach((e, k) => {
    const f = `credentialStatus[${k}]`;
    if (!isObject(e)) throw credErr(f, 'not an object');
    if (e.get('type') !== 'BitstringStatusListEntry') throw credErr(`${f}.type`, 'not BitstringStatusListEntry');
    const purpose = e.get('statusPurpose');
    if (purpose !== 'revocation' && purpose !== 'suspension') throw credErr(`${f}.statusPurpose`, 'unknown purpose');
    purposes.push(purpose);
    const index = e.get('statusListIndex');
    if (!isString(index) || !STATUS_INDEX.test(index)) throw credErr(`${f}.statusListIndex`, 'not a decimal string');
    const url = e.get('statusListCredential');
    if (!isString(url) || !STATUS_LIST_URL.test(url)) throw credErr(`${f}.statusListCredential`, 'not an http(s) URL');
    if (e.get('id') !== `${url}#${index}`) throw credErr(`${f}.id`, 'not statusListCredential#statusListIndex');
  });
  if (purposes[0] === purposes[1]) throw credErr('credentialStatus', 'the two entries have the same purpose');
  if (cs[0].get('statusListIndex') !== cs[1].get('statusListIndex')) {
    throw credErr('credentialStatus', 'the two entries have different indexes');
  }
}
