#!/usr/bin/env node
// Test-support tool (not part of the verifier): issues SIGNED credentials of its own, written from
// protocol.md 4.1 and 5.2, anchors and revokes them on a CertLedger chain through the documented
// write selectors (6.6), and writes their bundles with the verdict and codes protocol.md predicts.
// These reach the issuer, status and validity checks with valid signatures, which tampered copies
// of the demo's bundles cannot.
//
//   node tools/scenario.mjs pubkey                        -> the scenario's main Ed25519 key (0x…)
//   node tools/scenario.mjs run --rpc URL --ledger CAIP10 --registry CAIP10 --operator 0xADDR
//                               --code CODE --out DIR      -> DIR/*.json and DIR/scenarios.json
//
// The operator must be an unlocked account of the node (anvil's dev accounts are), registered as an
// operator of agency CODE, whose signing key `pubkey` is registered and which may issue
// DegreeCertificate and GenericCredential (and not ResidenceCertificate).

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { ed25519, ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';
import { fromPlain, parseText as parseRaw } from '../lib/json.mjs';
import { jcsBytes } from '../lib/jcs.mjs';
import { sha256, sha512, keccak256, utf8, toHex, concat, encodeBase58, parseCaip10, eip55 } from '../lib/codec.mjs';
import { leafOf, parentOf } from '../lib/verify.mjs';
import { selector } from '../lib/chain.mjs';

const seedOf = (label) => sha256(utf8(`certledger independent verifier scenario key ${label}`));

// Keys with a small-order component (protocol.md 4.5: "not refused"): A' = aB + T, T of order 8.
// A signature (R = rB, S = r + k·a) then satisfies [S]B - [k]A' = R - [k]T: the cofactorless check of
// 4.6 accepts it exactly when 8 divides k; the cofactored check always does.
const L_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;
const T8 = ed25519.Point.fromHex(ED25519_TORSION_SUBGROUP[1]);
const isTorsion = (label) => label.startsWith('torsion');
const intLE = (b) => b.reduceRight((x, byte) => (x << 8n) | BigInt(byte), 0n);
const le32 = (x) => Uint8Array.from({ length: 32 }, (_, k) => Number((x >> BigInt(8 * k)) & 0xffn));
function torsionKey(label) {
  const { scalar, point } = ed25519.utils.getExtendedPublicKey(seedOf(label));
  return { a: scalar, pub: point.add(T8).toBytes() };
}
function torsionSign(label, msg) {
  const { a, pub } = torsionKey(label);
  const wantAccepted = label === 'torsion-accepted';
  for (let i = 0; ; i++) {
    const r = intLE(sha512(concat(utf8(`nonce ${i}`), msg))) % L_ORDER;
    const R = ed25519.Point.BASE.multiply(r).toBytes();
    const k = intLE(sha512(concat(R, pub, msg))) % L_ORDER;
    if ((k % 8n === 0n) === wantAccepted) return concat(R, le32((r + k * a) % L_ORDER));
  }
}

// Signatures whose R is a point of small order (protocol.md 4.6 rule 2), made by the key's holder:
// with S = k·a, [S]B - [k]A = the identity for a key A = aB, and = -[k]T for a key A' = aB + T. So
// R = the identity always satisfies the cofactorless equation under an honest key, and an R of order 8
// does under a key aB + T for about one message in eight (the proof options get a `nonce` until one
// does). OpenSSL accepts both; 4.6 rule 2 (libsodium's rule) refuses both.
const SMALL_ORDER = ED25519_TORSION_SUBGROUP.map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
function scalarOf(label) {
  return isTorsion(label) ? torsionKey(label).a : ed25519.utils.getExtendedPublicKey(seedOf(label)).scalar;
}
function smallOrderSign(label, R, msg) {
  const pub = pubOf(label);
  const k = intLE(sha512(concat(R, pub, msg))) % L_ORDER;
  return concat(R, le32((k * scalarOf(label)) % L_ORDER));
}
function satisfiesEquation(label, msg, sig) {
  const A = ed25519.Point.fromBytes(pubOf(label));
  const k = intLE(sha512(concat(sig.slice(0, 32), pubOf(label), msg))) % L_ORDER;
  const R = ed25519.Point.BASE.multiplyUnsafe(intLE(sig.slice(32))).subtract(A.multiplyUnsafe(k)).toBytes();
  return R.every((b, i) => b === sig[i]);
}
const pubOf = (label) => (isTorsion(label) ? torsionKey(label).pub : ed25519.getPublicKey(seedOf(label)));
const didOf = (pub) => 'did:key:z' + encodeBase58(concat(new Uint8Array([0xed, 0x01]), pub));

const CTX = ['https://www.w3.org/ns/credentials/v2', 'https://www.w3.org/ns/credentials/undefined-terms/v2'];
const iso = (sec) => new Date(Number(sec) * 1000).toISOString().replace(/\.000Z$/, 'Z');

// ---- issuing (4.1) -----------------------------------------------------------------------------

let statusIndex = 0;
function credential({ code, keyLabel = 'main', type = 'DegreeCertificate', subject = {}, edit, options = {}, malleate, smallOrderR }) {
  const did = didOf(pubOf(keyLabel));
  const index = String(statusIndex++);
  const list = `http://127.0.0.1:8000/status/${code}/1`;
  const c = {
    '@context': [...CTX],
    id: `urn:uuid:${randomUUID()}`,
    type: ['VerifiableCredential', type],
    issuer: { id: did, name: '独立验证 Independent Verifier Scenarios', agency: `urn:certledger:agency:${code}` },
    validFrom: '2020-01-01T00:00:00Z',
    credentialSubject: { name: '测试 Test', ...subject },
    credentialStatus: ['revocation', 'suspension'].map((p) => ({
      id: `${list}/${p}#${index}`,
      type: 'BitstringStatusListEntry',
      statusPurpose: p,
      statusListIndex: index,
      statusListCredential: `${list}/${p}`,
    })),
  };
  const o = {
    type: 'DataIntegrityProof',
    cryptosuite: 'eddsa-jcs-2022',
    created: '2020-01-01T00:00:00Z',
    verificationMethod: `${did}#${did.slice('did:key:'.length)}`,
    proofPurpose: 'assertionMethod',
    '@context': [...CTX],
    ...options,
  };
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return { c, o, keyLabel, edit, malleate, smallOrderR };
}

/** Sign: returns the credential as raw JSON text (so that number literals are kept) and its value. */
function sign({ c, o, keyLabel, edit, malleate, smallOrderR }) {
  // an `edit` hook may rewrite the unsecured credential's text (numbers, escapes, odd members)
  let unsecuredText = JSON.stringify(c);
  if (edit) unsecuredText = edit(unsecuredText);
  const U = parseRaw(unsecuredText);
  const hashOf = (opts) => {
    const O = fromPlain(opts);
    const signedDoc = new Map(U);
    if (O.has('@context')) signedDoc.set('@context', O.get('@context'));
    return concat(sha256(jcsBytes(O)), sha256(jcsBytes(signedDoc)));
  };
  let hashData = hashOf(o);
  let sig;
  if (smallOrderR === 'identity') {
    sig = smallOrderSign(keyLabel, SMALL_ORDER[0], hashData);
  } else if (smallOrderR === 'order-8') {
    for (let i = 0; !sig; i++) {
      if (i > 0) {
        o = { ...o, nonce: `small-order R ${i}` };
        hashData = hashOf(o);
      }
      for (const j of [1, 3, 5, 7]) {
        const s = smallOrderSign(keyLabel, SMALL_ORDER[j], hashData);
        if (satisfiesEquation(keyLabel, hashData, s)) {
          sig = s;
          break;
        }
      }
    }
  } else {
    sig = isTorsion(keyLabel) ? torsionSign(keyLabel, hashData) : ed25519.sign(hashData, seedOf(keyLabel));
  }
  if (smallOrderR && !satisfiesEquation(keyLabel, hashData, sig)) throw new Error('small-order R: the equation does not hold');
  if (malleate) sig = concat(sig.slice(0, 32), le32(intLE(sig.slice(32)) + L_ORDER)); // S + L (4.6 rule 1)
  const proofText = JSON.stringify({ ...o, proofValue: 'z' + encodeBase58(sig) });
  const text = unsecuredText.replace(/}$/, `,"proof":${proofText}}`);
  const value = parseRaw(text);
  return { text, digest: sha256(jcsBytes(value)) };
}


// ---- Merkle batch (5.2) -----------------------------------------------------------------------

function tree(digests) {
  const levels = [digests.map(leafOf)];
  while (levels.at(-1).length > 1) {
    const cur = levels.at(-1);
    const next = [];
    for (let k = 0; k + 1 < cur.length; k += 2) next.push(parentOf(cur[k], cur[k + 1]));
    if (cur.length % 2) next.push(cur.at(-1));
    levels.push(next);
  }
  const pathOf = (i) => {
    const out = [];
    for (let lv = 0; lv < levels.length - 1; lv++, i >>= 1) if ((i ^ 1) < levels[lv].length) out.push(levels[lv][i ^ 1]);
    return out;
  };
  return { root: levels.at(-1)[0], pathOf };
}

// ---- chain writes -----------------------------------------------------------------------------

class Chain {
  constructor(url, from) {
    this.url = url;
    this.from = from;
    this.id = 1;
  }
  async rpc(method, params) {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: this.id++, method, params }),
    });
    const body = await res.json();
    if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
    return body.result;
  }
  async latest() {
    const b = await this.rpc('eth_getBlockByNumber', ['latest', false]);
    return { number: BigInt(b.number), timestamp: BigInt(b.timestamp) };
  }
  async send(to, data, { at, label } = {}) {
    if (at !== undefined) await this.rpc('evm_setNextBlockTimestamp', ['0x' + at.toString(16)]);
    const hash = await this.rpc('eth_sendTransaction', [{ from: this.from, to, data: toHex(data) }]);
    let r = null;
    for (let k = 0; k < 300 && !r; k++) {
      r = await this.rpc('eth_getTransactionReceipt', [hash]);
      if (!r) await new Promise((ok) => setTimeout(ok, 100));
    }
    if (!r || r.status !== '0x1') throw new Error(`transaction ${label || ''} ${hash} failed`);
    return { hash, blockNumber: BigInt(r.blockNumber) };
  }
}

const W = (x) => {
  if (x instanceof Uint8Array) return x;
  const w = new Uint8Array(32);
  let v = BigInt(x);
  for (let k = 31; k >= 0; k--, v >>= 8n) w[k] = Number(v & 0xffn);
  return w;
};
const call = (sig, ...words) => concat(selector(sig), ...words.map(W));
const statusCall = (sig, digest, root, proof, reason) =>
  concat(selector(sig), W(digest), W(root), W(0x80n), W(reason), W(proof.length), ...proof);

// ---- the scenarios ----------------------------------------------------------------------------

const OK = ['FORMAT_OK', 'SIGNATURE_VALID', 'ANCHORED', 'ISSUER_AUTHORISED', 'STATUS_ACTIVE', 'WITHIN_VALIDITY'];
const expectValid = () => ({ verdict: 'VALID', codes: OK });
const expectAt = (check, code) => {
  const k = ['format', 'integrity', 'anchor', 'issuer', 'status', 'validity'].indexOf(check);
  if (check === 'format') return { verdict: 'INVALID', codes: [code, 'SKIPPED', 'SKIPPED', 'SKIPPED', 'SKIPPED', 'SKIPPED'] };
  const codes = [...OK];
  codes[k] = code;
  if (check === 'anchor') codes[3] = codes[4] = 'SKIPPED';
  return { verdict: 'INVALID', codes };
};

async function run(args) {
  const ledger = parseCaip10(args.ledger);
  const registry = parseCaip10(args.registry);
  const chain = new Chain(args.rpc, args.operator);
  const code = args.code;
  const A = keccak256(utf8(code));
  mkdirSync(args.out, { recursive: true });

  // the chain's clock now (the latest block may be old): mine an empty block and read its time
  await chain.rpc('evm_mine', []);
  const t0 = (await chain.latest()).timestamp;
  const T0 = t0 + 100n, T1 = t0 + 200n, T2 = t0 + 300n, T3 = t0 + 400n;
  const regAddr = registry.address;
  const ledAddr = ledger.address;

  // keys: 'late' valid from exactly T1; 'compromised' revoked as of T1 later; 'future' far ahead
  await chain.send(regAddr, call('addKey(bytes32,bytes32,uint64)', A, pubOf('late'), T1), { label: 'addKey late' });
  await chain.send(regAddr, call('addKey(bytes32,bytes32,uint64)', A, pubOf('compromised'), t0 + 10n), { at: t0 + 10n, label: 'addKey compromised' });
  await chain.send(regAddr, call('addKey(bytes32,bytes32,uint64)', A, pubOf('future'), t0 + 1000000n), { label: 'addKey future' });
  for (const label of ['torsion-accepted', 'torsion-cofactored-only']) {
    await chain.send(regAddr, call('addKey(bytes32,bytes32,uint64)', A, pubOf(label), 0n), { label: `addKey ${label}` });
  }

  const S = {}; // name -> {cred, expected, batch}
  const add = (batch, name, spec, expected) => (S[name] = { spec, expected, batch });

  // batch B0, anchored at T0 (< T1): signed by the key revoked as of T1 -> stays valid
  add('B0', 'key-revoked-later-anchored-before', { keyLabel: 'compromised' }, expectValid());
  add('B0', 'b0-filler', {}, expectValid());

  // batch B1, anchored at exactly T1
  const T1iso = iso(T1);
  add('B1', 'plain', {}, expectValid());
  add('B1', 'key-valid-from-exactly-t', { keyLabel: 'late' }, expectValid());
  add('B1', 'key-revoked-as-of-exactly-t', { keyLabel: 'compromised' }, expectAt('issuer', 'KEY_REVOKED'));
  add('B1', 'key-not-yet-valid', { keyLabel: 'future' }, expectAt('issuer', 'KEY_NOT_YET_VALID'));
  add('B1', 'key-not-registered', { keyLabel: 'stranger' }, expectAt('issuer', 'KEY_NOT_REGISTERED'));
  add('B1', 'key-with-torsion-component', { keyLabel: 'torsion-accepted' }, expectValid());
  add('B1', 'signature-only-cofactored-valid', { keyLabel: 'torsion-cofactored-only' }, {
    verdict: 'INVALID',
    codes: ['FORMAT_OK', 'INVALID_SIGNATURE', 'ANCHORED', 'SKIPPED', 'STATUS_ACTIVE', 'WITHIN_VALIDITY'],
  });
  add('B1', 'signature-s-plus-l', { malleate: true }, {
    verdict: 'INVALID',
    codes: ['FORMAT_OK', 'INVALID_SIGNATURE', 'ANCHORED', 'SKIPPED', 'STATUS_ACTIVE', 'WITHIN_VALIDITY'],
  });
  // 4.6 rule 2: R of small order, S = k·a (the cofactorless equation holds; OpenSSL would accept)
  const smallOrderRefused = {
    verdict: 'INVALID',
    codes: ['FORMAT_OK', 'INVALID_SIGNATURE', 'ANCHORED', 'SKIPPED', 'STATUS_ACTIVE', 'WITHIN_VALIDITY'],
  };
  add('B1', 'signature-small-order-r-identity', { smallOrderR: 'identity' }, smallOrderRefused);
  add('B1', 'signature-small-order-r-order-8', { keyLabel: 'torsion-accepted', smallOrderR: 'order-8' }, smallOrderRefused);
  add('B1', 'type-not-permitted', { type: 'ResidenceCertificate' }, expectAt('issuer', 'TYPE_NOT_PERMITTED'));
  add('B1', 'type-unknown', { type: 'UnknownCertificate' }, expectAt('issuer', 'TYPE_NOT_PERMITTED'));
  add('B1', 'created-exactly-t', { options: { created: T1iso } }, expectValid());
  add('B1', 'created-t-plus-half-second', { options: { created: T1iso.replace('Z', '.5Z') } }, expectAt('issuer', 'CREATED_AFTER_ANCHOR'));
  add('B1', 'created-t-plus-7th-fraction-digit', { options: { created: T1iso.replace('Z', '.0000009Z') } }, expectValid());
  add('B1', 'created-t-plus-1-microsecond', { options: { created: T1iso.replace('Z', '.000001Z') } }, expectAt('issuer', 'CREATED_AFTER_ANCHOR'));
  const plus14 = new Date(Number(T1 + 14n * 3600n) * 1000).toISOString().replace('.000Z', '+14:00');
  add('B1', 'created-t-in-plus-14', { options: { created: plus14 } }, expectValid());
  add('B1', 'created-far-future', { options: { created: '2999-01-01T00:00:00Z' } }, expectAt('issuer', 'CREATED_AFTER_ANCHOR'));
  add('B1', 'expired', { edit: (t) => t.replace('"validFrom":"2020-01-01T00:00:00Z"', '"validFrom":"2020-01-01T00:00:00Z","validUntil":"2021-01-01T00:00:00Z"') }, expectAt('validity', 'EXPIRED'));
  add('B1', 'not-yet-valid', { edit: (t) => t.replace('"validFrom":"2020-01-01T00:00:00Z"', '"validFrom":"2999-01-01T00:00:00Z"') }, expectAt('validity', 'NOT_YET_VALID'));
  add('B1', 'valid-until-far-future', { edit: (t) => t.replace('"validFrom":"2020-01-01T00:00:00Z"', '"validFrom":"2020-01-01T00:00:00.5Z","validUntil":"9999-12-31T23:59:59.999999999Z"') }, expectValid());
  add('B1', 'valid-from-24h-minus-00', { edit: (t) => t.replace('"validFrom":"2020-01-01T00:00:00Z"', '"validFrom":"2019-12-31T24:00:00-00:00"') }, expectValid());
  add('B1', 'foreign-agency-namespace', { code: 'demo-zj-university' }, expectAt('anchor', 'ROOT_NOT_ANCHORED'));
  add('B1', 'revoked', {}, expectAt('status', 'REVOKED'));
  add('B1', 'suspended', {}, expectAt('status', 'SUSPENDED'));
  add('B1', 'reinstated', {}, expectValid());
  add('B1', 'suspended-then-revoked', {}, expectAt('status', 'REVOKED'));
  // JCS (4.3): numbers, strings, member order; valid signatures made with this tool's JCS
  const claims = (raw) => ({ edit: (t) => t.replace('"credentialSubject":{', `"credentialSubject":{${raw},`) });
  add('B1', 'jcs-numbers', claims('"a":0.1,"b":1e-7,"c":1E+2,"d":4503599627370495.5,"e":-0,"f":5e-324,"g":123456789.123456789,"h":1e-6,"i":0.000001234,"j":-9007199254740991,"k":100.0,"m":1.5e-300,"n":333333333.33333333'), expectValid());
  add('B1', 'jcs-strings', claims('"s1":"\\u0001\\u001f\\u007f\\u0080\\u2028\\u2029\\ufeff","s2":"tab\\tnl\\ncr\\rbs\\bff\\f\\"q\\\\","s3":"😀é\\ud83d\\ude00","s4":"\\/"'), expectValid());
  add('B1', 'jcs-member-order', claims('"\\ud83d\\ude00":1,"\\uff61":2,"\\u00e9":3,"e":4,"E":5,"":6,"\\u0000":7'), expectValid());
  add('B1', 'jcs-nested', claims('"arr":[[],{},[{"z":1,"a":[true,false,null]}]],"obj":{"b":{"c":{}}}'), expectValid());
  // eddsa-jcs-2022 proof options (3.6, 4.2 step 7)
  add('B1', 'proof-context-absent', { options: { '@context': undefined } }, expectValid());
  add('B1', 'proof-context-prefix', { options: { '@context': [CTX[0]] } }, expectValid());
  add('B1', 'proof-context-string', { options: { '@context': CTX[0] } }, expectValid());
  add('B1', 'proof-context-empty-list', { options: { '@context': [] } }, expectValid());
  add('B1', 'proof-extra-members', { options: { nonce: 'n-1', expires: '2999-01-01T00:00:00Z' } }, expectValid());
  add('B1', 'extra-members', { edit: (t) => t.replace('"issuer":{', '"evidence":[{"n":1}],"issuer":{"url":"https://example.org",') }, expectValid());
  add('B1', 'odd-but-allowed-values', { edit: (t) => t.replace(/"id":"urn:uuid:([^"]+)"/, (m, u) => `"id":"urn:uuid:${u.toUpperCase()}"`).replace('"name":"独立验证 Independent Verifier Scenarios"', '"name":"\\ufeff"') }, expectValid());
  add('B1', 'status-entries-reversed', { edit: (t) => { const v = JSON.parse(t); v.credentialStatus.reverse(); return JSON.stringify(v); } }, expectValid());

  // the rules the revision of protocol.md made precise, with valid signatures
  const editJson = (fn) => ({ edit: (t) => { const v = JSON.parse(t); fn(v); return JSON.stringify(v); } });
  add('B1', 'status-size-true', editJson((v) => v.credentialStatus.forEach((e) => (e.statusSize = true))), expectAt('format', 'CREDENTIAL_MALFORMED')); // 3.5 rule 2.6: a boolean is not a number
  add('B1', 'status-size-1', editJson((v) => v.credentialStatus.forEach((e) => (e.statusSize = 1))), expectValid());
  add('B1', 'status-size-1.0', { edit: (t) => t.replaceAll('"statusPurpose":', '"statusSize":1.0,"statusPurpose":') }, expectValid());
  add('B1', 'status-entries-without-id', editJson((v) => v.credentialStatus.forEach((e) => delete e.id)), expectValid());
  add('B1', 'status-index-15-digits', editJson((v) => v.credentialStatus.forEach((e) => {
    e.statusListIndex = '999999999999999';
    e.id = `${e.statusListCredential}#999999999999999`;
  })), expectValid());
  add('B1', 'jcs-long-literals', claims(`"a":0.${'0'.repeat(4999)}1,"b":1.${'0'.repeat(4998)}1,"c":123456789012345678e-10,"d":-0.0,"e":${'9'.repeat(300)}e-300`), expectValid());
  add('B1', 'created-year-1-minus-14', { options: { created: '0001-01-01T00:00:00-14:00' } }, expectValid());
  add('B1', 'created-9999-in-minus-01', { options: { created: '9999-12-31T22:59:59-01:00' } }, expectAt('issuer', 'CREATED_AFTER_ANCHOR'));
  add('B1', 'valid-from-24h-fraction-zeros', { edit: (t) => t.replace('"validFrom":"2020-01-01T00:00:00Z"', '"validFrom":"2019-12-31T24:00:00.000Z"') }, expectValid());
  // generic credentials (3.8): the agency is permitted GenericCredential
  const G = { type: 'GenericCredential' };
  add('B1', 'generic-minimal', { ...G }, expectValid());
  add('B1', 'generic-full', { ...G, ...editJson((v) => {
    v['@context'].push('https://www.w3.org/ns/credentials/examples/v2', { ex: 'https://example.org/vocab#', n: 1 });
    v.id = 'https://example.org/credentials/independent-verifier';
    v.type.push('ExampleCredential', 'https://example.org/types#Alumni');
    v.validFrom = '2020-01-01T08:00:00+08:00';
    v.validUntil = '9999-12-31T22:59:59-01:00';
    v.name = 'A generic credential';
    v.credentialSubject = [{ id: 'did:example:1', ex: 'one' }, { note: '第二 second' }];
    v.credentialStatus.forEach((e) => delete e.id);
    v.credentialStatus.splice(1, 0, { type: ['ExampleStatusEntry', 'https://example.org/T'], id: 'https://example.org/status/1' });
    v.credentialStatus.push({ type: 'ExampleRefresh' });
  }) }, expectValid());
  // 4.2 step 7, Equality: numbers by value, booleans only themselves, a number never equals a boolean
  const contextMismatch = {
    verdict: 'INVALID',
    codes: ['FORMAT_OK', 'CONTEXT_MISMATCH', 'ANCHORED', 'SKIPPED', 'STATUS_ACTIVE', 'WITHIN_VALIDITY'],
  };
  add('B1', 'generic-proof-context-true-for-1', { ...G, ...editJson((v) => v['@context'].push({ n: 1 })), options: { '@context': [...CTX, { n: true }] } }, contextMismatch);
  add('B1', 'generic-proof-context-false-for-0', { ...G, ...editJson((v) => v['@context'].push({ n: 1, m: [0] })), options: { '@context': [...CTX, { m: [false], n: 1 }] } }, contextMismatch);
  add('B1', 'generic-proof-context-1e0-for-1', { ...G, edit: (t) => { const v = JSON.parse(t); v['@context'].push({ n: '@@1.0@@', m: [false, true] }); return JSON.stringify(v).replace('"@@1.0@@"', '1.0'); }, options: { '@context': [...CTX, { m: [false, true], n: 1e0 }] } }, expectValid());
  add('B1', 'generic-proof-context-prefix', { ...G, ...editJson((v) => v['@context'].push('https://www.w3.org/ns/credentials/examples/v2')), options: { '@context': [...CTX] } }, expectValid());
  add('B1', 'generic-proof-context-2-for-1', { ...G, ...editJson((v) => v['@context'].push({ n: 1 })), options: { '@context': [...CTX, { n: 2 }] } }, {
    verdict: 'INVALID',
    codes: ['FORMAT_OK', 'CONTEXT_MISMATCH', 'ANCHORED', 'SKIPPED', 'STATUS_ACTIVE', 'WITHIN_VALIDITY'],
  });
  add('B1', 'generic-not-yet-valid-in-plus-14', { ...G, edit: (t) => t.replace('"validFrom":"2020-01-01T00:00:00Z"', '"validFrom":"2999-01-01T00:00:00+14:00"') }, expectAt('validity', 'NOT_YET_VALID'));
  add('B1', 'generic-expired-in-minus-05', { ...G, edit: (t) => t.replace('"validFrom":"2020-01-01T00:00:00Z"', '"validFrom":"2020-01-01T00:00:00-05:00","validUntil":"2021-01-01T00:00:00-05:00"') }, expectAt('validity', 'EXPIRED'));
  add('B1', 'generic-revoked', { ...G }, expectAt('status', 'REVOKED'));
  add('B1', 'generic-other-agency-key', { ...G, keyLabel: 'stranger' }, expectAt('issuer', 'KEY_NOT_REGISTERED'));

  // batch B2, anchored at T2 and then revoked as a whole (one credential also revoked on its own)
  add('B2', 'batch-revoked', {}, expectAt('status', 'BATCH_REVOKED'));
  add('B2', 'batch-revoked-and-revoked', {}, expectAt('status', 'BATCH_REVOKED'));
  add('B2', 'batch-revoked-suspended', {}, expectAt('status', 'BATCH_REVOKED'));
  // batch B3: one leaf (root = leaf, empty path), anchored at T3
  add('B3', 'one-leaf-batch', {}, expectValid());
  // batch B4: never anchored
  add('B4', 'root-not-anchored', {}, expectAt('anchor', 'ROOT_NOT_ANCHORED'));

  // sign, then batch
  const batches = {};
  for (const [name, s] of Object.entries(S)) {
    const spec = { code, ...s.spec };
    const signed = sign(credential(spec));
    s.signed = signed;
    (batches[s.batch] ||= []).push(name);
  }
  const anchors = {};
  const times = { B0: T0, B1: T1, B2: T2, B3: T3 };
  for (const [b, names] of Object.entries(batches)) {
    const t = tree(names.map((n) => S[n].signed.digest));
    anchors[b] = { tree: t, names };
    if (times[b] !== undefined) {
      const tx = await chain.send(ledAddr, call('anchor(bytes32,uint32)', t.root, names.length), { at: times[b], label: `anchor ${b}` });
      anchors[b].tx = tx;
    }
  }
  const proofOf = (name) => {
    const a = anchors[S[name].batch];
    return { root: a.tree.root, path: a.tree.pathOf(a.names.indexOf(name)) };
  };
  const status = async (sig, name, reason) => {
    const { root, path } = proofOf(name);
    await chain.send(ledAddr, statusCall(sig, S[name].signed.digest, root, path, reason), { label: `${sig} ${name}` });
  };
  await chain.send(regAddr, call('revokeKey(bytes32,bytes32,uint64)', A, pubOf('compromised'), T1), { label: 'revokeKey' });
  await status('revoke(bytes32,bytes32,bytes32[],uint8)', 'revoked', 3);
  await status('revoke(bytes32,bytes32,bytes32[],uint8)', 'generic-revoked', 6);
  await status('suspend(bytes32,bytes32,bytes32[],uint8)', 'suspended', 5);
  await status('suspend(bytes32,bytes32,bytes32[],uint8)', 'reinstated', 4);
  await status('reinstate(bytes32,bytes32,bytes32[],uint8)', 'reinstated', 4);
  await status('suspend(bytes32,bytes32,bytes32[],uint8)', 'suspended-then-revoked', 0);
  await status('revoke(bytes32,bytes32,bytes32[],uint8)', 'suspended-then-revoked', 2);
  await status('revoke(bytes32,bytes32,bytes32[],uint8)', 'batch-revoked-and-revoked', 1);
  await status('suspend(bytes32,bytes32,bytes32[],uint8)', 'batch-revoked-suspended', 1);
  await chain.send(ledAddr, call('revokeRoot(bytes32,uint8)', anchors.B2.tree.root, 2), { label: 'revokeRoot' });

  // bundles (7.1, written as 7.4 says)
  const caip = (acc) => `eip155:${acc.chainId}:0x${eip55(acc.address.slice(2))}`;
  const index = {};
  for (const [name, s] of Object.entries(S)) {
    const a = anchors[s.batch];
    const { root, path: p } = proofOf(name);
    const anchor = {
      ledger: caip(ledger),
      registry: caip(registry),
      digest: toHex(s.signed.digest),
      root: toHex(root),
      path: p.map(toHex),
      txHash: a.tx ? a.tx.hash : '0x' + '00'.repeat(32),
      blockNumber: a.tx ? Number(a.tx.blockNumber) : 0,
    };
    const text = `{\n  "type": "CertLedgerBundle",\n  "version": 2,\n  "credential": ${s.signed.text},\n  "anchor": ${JSON.stringify(anchor, null, 2).replace(/\n/g, '\n  ')}\n}\n`;
    const file = path.join(args.out, `${name}.json`);
    writeFileSync(file, text);
    index[name] = { file, expected: s.expected };
  }
  writeFileSync(path.join(args.out, 'scenarios.json'), JSON.stringify(index, null, 2));
  process.stdout.write(`${Object.keys(index).length} scenario bundles in ${args.out}\n`);
}

// ---- command line -----------------------------------------------------------------------------

const [cmd, ...rest] = process.argv.slice(2);
const args = {};
for (let k = 0; k < rest.length; k += 2) args[rest[k].replace(/^--/, '')] = rest[k + 1];
if (cmd === 'pubkey') {
  process.stdout.write(toHex(pubOf('main')) + '\n');
} else if (cmd === 'run') {
  for (const k of ['rpc', 'ledger', 'registry', 'operator', 'code', 'out']) {
    if (!args[k]) {
      process.stderr.write(`scenario.mjs run: --${k} is required\n`);
      process.exit(64);
    }
  }
  run(args).catch((e) => {
    process.stderr.write(`scenario.mjs: ${e.stack || e}\n`);
    process.exit(1);
  });
} else {
  process.stderr.write('usage: scenario.mjs pubkey | run --rpc URL --ledger CAIP10 --registry CAIP10 --operator 0xADDR --code CODE --out DIR\n');
  process.exit(64);
}
