// The `format` check: bundle parsing (protocol.md 7.2, 7.3) and the credential rules (3.2-3.8).

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
    if (e instanceof JsonError) throw bundleErr('(bundle)', e.message);
    throw e;
  }
  // rule 2
  if (!isObject(doc)) throw bundleErr('(bundle)', 'not an object');
  for (const k of doc.keys()) if (!TOP_MEMBERS.has(k)) throw bundleErr(k, 'unknown field');
  // rule 3
  if (doc.get('type') !== 'CertLedgerBundle') throw bundleErr('type', 'must be "CertLedgerBundle"');
  // rule 4 and 7.3
  const version = doc.get('version');
  if (!doc.has('version')) throw bundleErr('version', 'missing');
  if (!(isNumber(version) && version.isIntegerToken)) throw bundleErr('version', 'not a JSON integer');
  if (version.bigint() !== 2n) {
    const v = version.raw.length > 40 ? `${version.raw.slice(0, 12)}… (${version.raw.length} characters)` : version.raw;
    throw new FormatError('UNSUPPORTED_VERSION', 'version', `version ${v}; this verifier reads version 2`);
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

// ---- credential (3.2 - 3.8) -------------------------------------------------------------------

const CONTEXTS = ['https://www.w3.org/ns/credentials/v2', 'https://www.w3.org/ns/credentials/undefined-terms/v2'];
const UUID_URN = /^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const TYPE_NAME = /^[A-Z][A-Za-z0-9]{2,63}$/;
const RESERVED_TYPES = new Set(['VerifiableCredential', 'VerifiablePresentation']);
const AGENCY_IRI = /^urn:certledger:agency:([a-z0-9-]{3,64})$/;
const STATUS_INDEX = /^(0|[1-9][0-9]{0,14})$/; // 3.5 rule 2.3: at most 15 digits
export const GENERIC = 'GenericCredential';
const BSLE = 'BitstringStatusListEntry';

// White space (protocol.md 1.3 rule 9): exactly these 29 code points. Not U+200B, U+180E, U+FEFF, U+0000.
const SPACE_CODES = [
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002,
  0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
];
const SPACE = new Set(SPACE_CODES);
const SPACE_CLASS = SPACE_CODES.map((c) => '\\u' + c.toString(16).padStart(4, '0')).join('');
// 3.5 rule 2.4 `https?://[^\s#]+`, whole string, \s being the set above (1.3 rules 9 and 10)
const STATUS_LIST_URL = new RegExp(`^https?://[^${SPACE_CLASS}#]+$`);
// 3.8: a URL string `[A-Za-z][A-Za-z0-9+.-]*:[^\s]+`, whole string
const URL_STRING = new RegExp(`^[A-Za-z][A-Za-z0-9+.\\-]*:[^${SPACE_CLASS}]+$`);

export const isSpace = (ch) => SPACE.has(ch.codePointAt(0));
const hasSpace = (s) => [...s].some(isSpace);
export const isUrlString = (v) => isString(v) && URL_STRING.test(v);

/** The agency code of an agency IRI (2.3), or null. */
export function agencyCodeOf(iri) {
  const m = isString(iri) ? AGENCY_IRI.exec(iri) : null;
  return m ? m[1] : null;
}

/** A generic credential (3.8): `type` an array of at least two elements, type[1] "GenericCredential". */
export function isGeneric(c) {
  const type = isObject(c) ? c.get('type') : undefined;
  return isArray(type) && type.length >= 2 && type[1] === GENERIC;
}

function checkNumbers(v, path) {
  // 3.7: every number read as a double (a literal of any length; too large -> infinity) must be finite
  // and of magnitude at most 2^53 - 1
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
 * Check a credential (a Map) against 3.2-3.7, with the exceptions of 3.8 for a generic credential.
 * Returns what later checks need:
 * {generic, agencyCode, typeName, key (32 bytes), validFrom, validUntil (micros or null), created (micros)}.
 */
export function checkCredential(c) {
  if (!isObject(c)) throw credErr('credential', 'not an object');
  const generic = isGeneric(c);

  // 2. @context (3.8 rule 1: further items, each a URL string or an object)
  const ctx = c.get('@context');
  if (generic) {
    if (!(isArray(ctx) && ctx.length >= 2 && ctx[0] === CONTEXTS[0] && ctx[1] === CONTEXTS[1])) {
      throw credErr('@context', `must start with ${JSON.stringify(CONTEXTS)}`);
    }
    ctx.forEach((x, k) => {
      if (k >= 2 && !(isUrlString(x) || isObject(x))) throw credErr(`@context[${k}]`, 'neither a URL string nor an object');
    });
  } else if (!(isArray(ctx) && ctx.length === 2 && ctx[0] === CONTEXTS[0] && ctx[1] === CONTEXTS[1])) {
    throw credErr('@context', `must be exactly ${JSON.stringify(CONTEXTS)}`);
  }
  // 3. id (3.8 rule 2: a URL string)
  if (generic) {
    if (!isUrlString(c.get('id'))) throw credErr('id', 'not a URL string');
  } else if (!isString(c.get('id')) || !UUID_URN.test(c.get('id'))) {
    throw credErr('id', 'not urn:uuid:<uuid>');
  }
  // 4. type (3.8 rule 3)
  const type = c.get('type');
  if (generic) {
    if (type[0] !== 'VerifiableCredential') throw credErr('type[0]', 'not "VerifiableCredential"');
    const seen = new Set();
    type.forEach((t, k) => {
      if (k < 2) return;
      if (!isString(t) || t === '' || hasSpace(t)) throw credErr(`type[${k}]`, 'not a non-empty string without white space');
      if (t === 'VerifiableCredential' || t === GENERIC) throw credErr(`type[${k}]`, `${t} may only be type[0] or type[1]`);
      if (seen.has(t)) throw credErr(`type[${k}]`, 'repeated');
      seen.add(t);
    });
  } else {
    if (!(isArray(type) && type.length === 2 && type[0] === 'VerifiableCredential')) {
      throw credErr('type', 'must be ["VerifiableCredential", <type name>]');
    }
    if (!isString(type[1]) || !TYPE_NAME.test(type[1]) || RESERVED_TYPES.has(type[1])) {
      throw credErr('type[1]', 'not a valid credential type name');
    }
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
    throw credErr('issuer.name', 'not a string with a character that is not white space');
  }
  // 6. validFrom / validUntil (UTC for a typed credential, any zone for a generic one: 3.8 rule 4)
  if (!c.has('validFrom')) throw credErr('validFrom', 'missing');
  const validFrom = parseTime(c.get('validFrom'), 'validFrom', { utc: !generic });
  let validUntil = null;
  if (c.has('validUntil')) {
    validUntil = parseTime(c.get('validUntil'), 'validUntil', { utc: !generic });
    if (!(validUntil > validFrom)) throw credErr('validUntil', 'not later than validFrom');
  }
  // 7. credentialSubject (3.8 rule 5: or a non-empty array of objects, each with a member)
  const subject = c.get('credentialSubject');
  if (generic && isArray(subject)) {
    if (subject.length === 0) throw credErr('credentialSubject', 'an empty array');
    subject.forEach((x, k) => {
      if (!isObject(x) || x.size === 0) throw credErr(`credentialSubject[${k}]`, 'not an object with at least one member');
    });
  } else if (!isObject(subject)) {
    throw credErr('credentialSubject', generic ? 'neither an object nor an array of objects' : 'not an object');
  }
  // 8. credentialStatus (3.5; 3.8 rule 6)
  if (generic) checkGenericStatus(c.get('credentialStatus'));
  else checkTypedStatus(c.get('credentialStatus'));
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
  return { generic, agencyCode, typeName: type[1], key, validFrom, validUntil, created };
}

/** 3.5: exactly two entries, each a BitstringStatusListEntry, together satisfying rule 2. */
function checkTypedStatus(cs) {
  if (!isArray(cs) || cs.length !== 2) throw credErr('credentialStatus', 'not an array of two entries');
  cs.forEach((e, k) => {
    if (!isObject(e)) throw credErr(`credentialStatus[${k}]`, 'not an object');
    if (e.get('type') !== BSLE) throw credErr(`credentialStatus[${k}].type`, `not ${BSLE}`);
  });
  checkEntryPair(cs.map((e, k) => [e, `credentialStatus[${k}]`]));
}

/**
 * 3.8 rule 6: exactly two objects whose `type` is the string "BitstringStatusListEntry", anywhere,
 * satisfying 3.5 rule 2 together; every other element an object whose `type` is a non-empty string
 * or a non-empty array of non-empty strings, not including "BitstringStatusListEntry".
 */
function checkGenericStatus(cs) {
  if (!isArray(cs)) throw credErr('credentialStatus', 'not an array');
  const entries = [];
  cs.forEach((e, k) => {
    const f = `credentialStatus[${k}]`;
    if (isObject(e) && e.get('type') === BSLE) {
      entries.push([e, f]);
      return;
    }
    if (!isObject(e)) throw credErr(f, 'not an object');
    const t = e.get('type');
    const ok =
      (isString(t) && t !== '') ||
      (isArray(t) && t.length > 0 && t.every((x) => isString(x) && x !== '' && x !== BSLE));
    if (!ok) throw credErr(`${f}.type`, `not a non-empty string or list of strings without ${BSLE}`);
  });
  if (entries.length !== 2) throw credErr('credentialStatus', `not exactly two ${BSLE} entries`);
  checkEntryPair(entries);
}

/** 3.5 rule 2 over the two entries ([entry, field path] pairs). */
function checkEntryPair(pairs) {
  for (const [e, f] of pairs) {
    const purpose = e.get('statusPurpose');
    if (purpose !== 'revocation' && purpose !== 'suspension') throw credErr(`${f}.statusPurpose`, 'unknown purpose');
    const index = e.get('statusListIndex');
    if (!isString(index) || !STATUS_INDEX.test(index)) {
      throw credErr(`${f}.statusListIndex`, 'not a decimal string of at most 15 digits');
    }
    const url = e.get('statusListCredential');
    if (!isString(url) || !STATUS_LIST_URL.test(url)) throw credErr(`${f}.statusListCredential`, 'not an http(s) URL');
    if (e.has('id') && e.get('id') !== `${url}#${index}`) {
      throw credErr(`${f}.id`, 'not statusListCredential#statusListIndex');
    }
    if (e.has('statusSize')) {
      const size = e.get('statusSize');
      // a JSON number equal to 1 (read as a double, 3.7 rule 1): 1, 1.0, 1e0; a boolean is not a
      // number, so true is refused (3.5 rule 2.6)
      if (!(size instanceof JNum && size.value === 1)) throw credErr(`${f}.statusSize`, 'not the number 1');
    }
  }
  const [[a], [b]] = pairs;
  if (a.get('statusPurpose') === b.get('statusPurpose')) {
    throw credErr('credentialStatus', 'the two entries have the same purpose');
  }
  if (a.get('statusListIndex') !== b.get('statusListIndex')) {
    throw credErr('credentialStatus', 'the two entries have different indexes');
  }
}
