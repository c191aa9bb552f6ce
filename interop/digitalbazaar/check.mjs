#!/usr/bin/env node
// Cross-check of CertLedger credentials with Digital Bazaar's JavaScript stack, offline.
//
//   node interop/digitalbazaar/check.mjs --demo DIR [--unwrapped-status]
//
// DIR is the output of `certledger demo --out DIR` (or of make-fixture.mjs): DIR/summary.json
// lists the bundle files and each one's expected verdict, and says where the status lists are
// ({"statusLists": {"baseUrl", "dir"}}). For every bundle's credential:
//   a. jsonld.expand in JSON-LD safe mode must succeed, and every key of credentialSubject and of
//      issuer must survive expansion as a property (checked key by key, see checkClaims);
//   b. vc.verifyCredential with its default proof purpose, a DataIntegrityProof suite with the
//      eddsa-jcs-2022 cryptosuite, and the status check of @digitalbazaar/vc-bitstring-status-list
//      (wrapped: see strictCheckStatus);
//   c. one JSON line per bundle, then a summary line. Exit 0 only when every bundle agrees with its
//      expected verdict; 1 when one does not; 2 when the harness itself cannot run.
// The document loader is offline (loader.mjs); a URL it refuses is reported in the bundle's errors.
// --unwrapped-status passes the package's checkStatus as it is (a diagnostic: it shows that a set
// status bit alone does not make verifyCredential fail).
import fs from 'node:fs';
import path from 'node:path';

import * as vc from '@digitalbazaar/vc';
import jsonld from 'jsonld';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {createVerifyCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';

import {VC_V2_CONTEXT, forbidNetwork, makeOfflineLoader} from './loader.mjs';

const KNOWN = new Set(['VALID', 'REVOKED', 'SUSPENDED']);
const STATUS_BIT_SET = Symbol('status bit set');
const PROBE_ID = 'urn:certledger:interop:probe';

class HarnessError extends Error {}

function parseArgs(argv) {
  const args = {unwrappedStatus: false};
  for(let i = 0; i < argv.length; i++) {
    if(argv[i] === '--demo' && i + 1 < argv.length) {
      args.demo = argv[++i];
    } else if(argv[i] === '--unwrapped-status') {
      args.unwrappedStatus = true;
    } else {
      throw new HarnessError(`unknown argument ${argv[i]}`);
    }
  }
  if(!args.demo) {
    throw new HarnessError('usage: node check.mjs --demo DIR [--unwrapped-status]');
  }
  return args;
}

// An error and its causes in one line; jsonld's errors carry their reason in `details`.
function describe(e, depth = 0) {
  if(e === undefined || e === null) {
    return String(e);
  }
  if(Array.isArray(e)) {
    return e.map(x => describe(x, depth)).join(' | ');
  }
  if(e.name === 'VerificationError' && Array.isArray(e.errors) && e.errors.length > 0) {
    return describe(e.errors, depth); // jsonld-signatures' wrapper: its errors say what failed
  }
  let text = e.message ?? String(e);
  if(e.name && e.name.startsWith('jsonld.')) {
    text = `${e.name}: ${text}`;
    const event = e.details?.event;
    if(event) {
      text += ` (${event.code}: ${event.message})`;
    } else if(e.details?.code) {
      text += ` (${e.details.code})`;
    }
  }
  if(e.cause && depth < 5) {
    const cause = describe(e.cause, depth + 1);
    if(!text.includes(cause)) {
      text += `; cause: ${cause}`;
    }
  }
  return text;
}

// @digitalbazaar/vc-bitstring-status-list 2.0.1's checkStatus reads every BitstringStatusListEntry
// (here two: revocation and suspension), loads and verifies each status-list credential
// (signature, and its issuer must equal the credential's issuer: the package's defaults), and
// returns {verified: true, results: [{verified: true, credentialStatus, status}, ...]} where
// `status` is the bit (true = set). A set bit does not make the entry or the whole result
// unverified: `verified` only says that the status could be read. @digitalbazaar/vc 7.3.0's
// verifyCredential fails a credential only when `statusResult.verified` is false, so on its own it
// calls a revoked or suspended credential verified. This thin wrapper keeps everything the package
// did and only turns a set bit, for any purpose, into `verified: false`, with an error naming the
// purposes; errors of the package's own (a list that cannot be loaded or verified) pass unchanged.
async function strictCheckStatus(options) {
  const result = await checkStatus(options);
  if(!result.verified) {
    return result;
  }
  const set = (result.results || []).filter(r => r.status === true);
  if(set.length === 0) {
    return result;
  }
  const purposes = set.map(r => r.credentialStatus.statusPurpose);
  const error = new Error(`status bit set for purpose(s): ${purposes.join(', ')}`);
  error[STATUS_BIT_SET] = true;
  return {...result, verified: false, error};
}

function statusPurposesSet(result) {
  const results = result?.statusResult?.results || [];
  return results.filter(r => r.status === true).map(r => r.credentialStatus.statusPurpose);
}

// Every failure that verifyCredential reports, except the marker of a set status bit.
function verificationErrors(result) {
  const messages = [];
  for(const e of [].concat(result.error ?? [])) {
    messages.push(describe(e));
  }
  for(const r of result.results || []) {
    if(r.error) {
      messages.push(describe(r.error));
    }
    for(const p of [].concat(r.purposeResult ?? [])) {
      if(p && p.valid === false && p.error) {
        messages.push(describe(p.error));
      }
    }
  }
  const statusError = result.statusResult?.error;
  if(statusError && !statusError[STATUS_BIT_SET]) {
    messages.push(`status: ${describe(statusError)}`);
  }
  if(!result.verified && messages.length === 0 && statusPurposesSet(result).length === 0) {
    messages.push('verifyCredential returned verified: false without an error');
  }
  return [...new Set(messages)];
}

function firstNode(expanded) {
  if(!Array.isArray(expanded) || expanded.length !== 1 || typeof expanded[0] !== 'object') {
    throw new Error('expansion did not produce exactly one top-level node');
  }
  return expanded[0];
}

// The expanded IRI of the credential's property `prop` (credentialSubject, issuer), found by
// expanding the credential with that property replaced by a marker node.
async function propertyIri(credential, prop, options) {
  const probe = {...credential, [prop]: {id: PROBE_ID}};
  delete probe.proof;
  const top = firstNode(await jsonld.expand(probe, options));
  const iri = Object.keys(top).find(k => [].concat(top[k]).some(v => v?.['@id'] === PROBE_ID));
  if(!iri) {
    throw new Error(`"${prop}" does not expand to a property of the credential`);
  }
  return iri;
}

// Every key of credentialSubject and of issuer must be kept by JSON-LD expansion. Each key's IRI
// is found in place: the credential is expanded with that object reduced to a marker id and the
// one key; the key's IRI is the one property the marker node then has (or @type for `type`; none
// at all means the key is dropped). Then the full expansion's node must carry every key's IRI,
// and no two keys may share one (they would be merged). With @vocab of undefined-terms/v2 a term
// the contexts do not define expands to https://www.w3.org/ns/credentials/undefined-term#<key>.
async function checkClaims(credential, expandedTop, options) {
  const problems = [];
  for(const prop of ['credentialSubject', 'issuer']) {
    const value = credential[prop];
    const objects = [].concat(value ?? []);
    if(!objects.some(o => o && typeof o === 'object')) {
      continue; // an issuer given as a plain URL has no claims
    }
    const propIri = await propertyIri(credential, prop, options);
    const fullNodes = [].concat(expandedTop[propIri] ?? []);
    for(const [i, obj] of objects.entries()) {
      if(!obj || typeof obj !== 'object') {
        continue;
      }
      const where = Array.isArray(value) ? `${prop}[${i}]` : prop;
      const node = fullNodes[i];
      if(!node || typeof node !== 'object') {
        problems.push(`${where}: no node in the expanded credential`);
        continue;
      }
      const iriOfKey = new Map();
      for(const key of Object.keys(obj)) {
        if(key.startsWith('@')) {
          continue; // JSON-LD keywords are not claims
        }
        if(key === 'id') {
          if(node['@id'] !== obj.id) {
            problems.push(`${where}.id: expands to ${JSON.stringify(node['@id'])}, not ${JSON.stringify(obj.id)}`);
          }
          continue;
        }
        const reduced = {id: PROBE_ID, [key]: obj[key]};
        const probe = {...credential};
        delete probe.proof;
        probe[prop] = Array.isArray(value) ? value.map((o, j) => (j === i ? reduced : o)) : reduced;
        const top = firstNode(await jsonld.expand(probe, options));
        const probeNode = [].concat(top[propIri] ?? []).find(n => n?.['@id'] === PROBE_ID);
        const iris = Object.keys(probeNode || {}).filter(k => k !== '@id');
        if(iris.length !== 1) {
          problems.push(`${where}.${key}: dropped by JSON-LD expansion` +
            (iris.length ? ` (expands to ${iris.join(', ')})` : ''));
          continue;
        }
        const iri = iris[0];
        if(!(iri in node)) {
          problems.push(`${where}.${key}: ${iri} is missing from the expanded credential`);
        }
        if(iriOfKey.has(iri)) {
          problems.push(`${where}.${key} and ${where}.${iriOfKey.get(iri)} both expand to ${iri}`);
        }
        iriOfKey.set(iri, key);
      }
    }
  }
  return problems;
}

async function jsonLdChecks(credential, documentLoader) {
  const options = {safe: true, documentLoader};
  let top;
  try {
    top = firstNode(await jsonld.expand(credential, options));
  } catch(e) {
    return {safeMode: false, claimsKept: false, errors: [`JSON-LD safe mode: ${describe(e)}`]};
  }
  try {
    const problems = await checkClaims(credential, top, options);
    return {safeMode: true, claimsKept: problems.length === 0,
      errors: problems.map(p => `claims: ${p}`)};
  } catch(e) {
    return {safeMode: true, claimsKept: false, errors: [`claims: ${describe(e)}`]};
  }
}

// jsonld 9 spells the option `safe` (an unknown `safeMode` would be ignored silently). Make sure
// it is in force: an undefined term must make expansion fail, where without it the term is dropped.
async function assertSafeModeWorks(documentLoader) {
  const doc = {'@context': VC_V2_CONTEXT, type: 'VerifiableCredential', notATermAnywhere: 'x'};
  const unsafe = await jsonld.expand(doc, {documentLoader});
  if(JSON.stringify(unsafe).includes('notATermAnywhere')) {
    throw new HarnessError('safe-mode probe: the undefined term was not dropped; probe is wrong');
  }
  try {
    await jsonld.expand(doc, {safe: true, documentLoader});
  } catch{
    return;
  }
  throw new HarnessError('safe-mode probe: jsonld.expand({safe: true}) did not refuse an undefined term');
}

function outcomeOf(line) {
  if(!line.safeMode || !line.claimsKept || line.errors.length > 0) {
    return 'OTHER';
  }
  const set = line.statusPurposesSet;
  if(line.verified) {
    return set.length === 0 ? 'VALID' : 'OTHER';
  }
  if(set.length === 1 && set[0] === 'revocation') {
    return 'REVOKED';
  }
  if(set.length === 1 && set[0] === 'suspension') {
    return 'SUSPENDED';
  }
  return 'OTHER';
}

async function checkBundle(demoDir, entry, documentLoader, networkRefused, statusFn) {
  const line = {
    file: entry.file, expected: entry.expected, verified: false, statusPurposesSet: [],
    errors: [], safeMode: false, claimsKept: false
  };
  const refusedBefore = documentLoader.refused.length;
  const networkBefore = networkRefused.length;
  let credential;
  try {
    const bundle = JSON.parse(fs.readFileSync(path.resolve(demoDir, entry.file), 'utf8'));
    if(bundle?.type !== 'CertLedgerBundle') {
      line.errors.push(`bundle: type is ${JSON.stringify(bundle?.type)}, expected "CertLedgerBundle"`);
    }
    if(bundle?.version !== 2) {
      line.errors.push(`bundle: version is ${JSON.stringify(bundle?.version)}, expected 2`);
    }
    credential = bundle?.credential;
    if(!credential || typeof credential !== 'object') {
      line.errors.push('bundle: no credential object');
      credential = undefined;
    }
  } catch(e) {
    line.errors.push(`bundle: ${describe(e)}`);
  }
  if(credential) {
    const ld = await jsonLdChecks(credential, documentLoader);
    line.safeMode = ld.safeMode;
    line.claimsKept = ld.claimsKept;
    line.errors.push(...ld.errors);

    const result = await vc.verifyCredential({
      credential: structuredClone(credential),
      suite: new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()}),
      documentLoader,
      checkStatus: statusFn
    });
    line.verified = result.verified === true;
    line.statusPurposesSet = statusPurposesSet(result);
    line.errors.push(...verificationErrors(result));
  }
  for(const message of documentLoader.refused.slice(refusedBefore)) {
    line.errors.push(message);
  }
  for(const url of networkRefused.slice(networkBefore)) {
    line.errors.push(`network access refused: ${url}`);
  }
  line.errors = [...new Set(line.errors)];
  line.outcome = outcomeOf(line);
  // the three rules of the brief, as equivalences: an expected verdict other than these three
  // agrees only with an outcome that is none of them (Digital Bazaar rejects it for another reason)
  line.agree = KNOWN.has(entry.expected) ? line.outcome === entry.expected : line.outcome === 'OTHER';
  return line;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const networkRefused = forbidNetwork();
  const demoDir = path.resolve(args.demo);
  let summary;
  try {
    summary = JSON.parse(fs.readFileSync(path.join(demoDir, 'summary.json'), 'utf8'));
  } catch(e) {
    throw new HarnessError(`cannot read ${path.join(demoDir, 'summary.json')}: ${e.message}`);
  }
  const bundles = summary?.bundles;
  if(!Array.isArray(bundles) || bundles.length === 0) {
    throw new HarnessError('summary.json has no bundles');
  }
  const lists = summary.statusLists;
  if(!lists || typeof lists.baseUrl !== 'string' || typeof lists.dir !== 'string') {
    throw new HarnessError('summary.json has no statusLists {baseUrl, dir}');
  }
  const documentLoader = makeOfflineLoader({
    statusBaseUrl: lists.baseUrl, statusDir: path.resolve(demoDir, lists.dir)
  });
  await assertSafeModeWorks(documentLoader);
  const statusFn = args.unwrappedStatus ? checkStatus : strictCheckStatus;

  const totals = {total: 0, agree: 0, disagree: 0, byExpected: {}};
  for(const entry of bundles) {
    const line = await checkBundle(demoDir, entry, documentLoader, networkRefused, statusFn);
    process.stdout.write(JSON.stringify(line) + '\n');
    totals.total += 1;
    totals[line.agree ? 'agree' : 'disagree'] += 1;
    const by = totals.byExpected[entry.expected] ??= {total: 0, agree: 0};
    by.total += 1;
    by.agree += line.agree ? 1 : 0;
  }
  process.stdout.write(JSON.stringify(totals) + '\n');
  return totals.disagree === 0 ? 0 : 1;
}

main().then(code => {
  process.exitCode = code;
}, e => {
  process.stderr.write(`check: ${e instanceof HarnessError ? e.message : e.stack || e}\n`);
  process.exitCode = 2;
});
