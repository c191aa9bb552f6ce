// Offline self-test against the worked example of protocol.md section 11 (docs/examples/).
// Recomputes every intermediate value this verifier derives (JCS texts, hashes, hashData, key,
// signature, digest, leaf, Merkle steps and batch tree, selectors, topics, calldata, decoded chain
// answers, status-list bits), then verifies the three example bundles against a local JSON-RPC
// stub that serves the recorded chain answers, and finally runs spec-derived negative cases.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseStrict, parseText } from './lib/json.mjs';
import { jcsBytes, jcsText } from './lib/jcs.mjs';
import { keccak256, sha256, sha512, utf8, toHex, fromHex, concat, decodeMultibaseZ, encodeBase58 } from './lib/codec.mjs';
import { parseBundle, checkCredential } from './lib/format.mjs';
import { verifyProof, verifyBundle, leafOf, parentOf, foldPath } from './lib/verify.mjs';
import { weakKeyReason, verifyEd25519, isSmallOrderEncoding, intLE } from './lib/ed25519.mjs';
import { ed25519, ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';
import { VIEWS, selector, encodeCall, decodeStatic, decodeAgencyInfo, RpcClient } from './lib/chain.mjs';
import { parseDateTimeStamp } from './lib/time.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

let passed = 0;
let failed = 0;
function eq(what, actual, expected) {
  const a = typeof actual === 'bigint' ? actual.toString() : JSON.stringify(actual);
  const e = typeof expected === 'bigint' ? expected.toString() : JSON.stringify(expected);
  if (a === e) passed++;
  else {
    failed++;
    process.stdout.write(`FAIL ${what}\n  expected ${e}\n  actual   ${a}\n`);
  }
}

const dec = new TextDecoder();
const L_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;
const le32 = (x) => Uint8Array.from({ length: 32 }, (_, k) => Number((x >> BigInt(8 * k)) & 0xffn));
/** The cofactorless equation of 4.6 rule 4 alone (no rule 1, no rule 2): encode([S]B - [k]A) == R. */
function cofactorlessEquation(pubBytes, msg, sig) {
  const A = ed25519.Point.fromBytes(pubBytes);
  const k = intLE(sha512(concat(sig.slice(0, 32), pubBytes, msg))) % L_ORDER;
  const R = ed25519.Point.BASE.multiplyUnsafe(intLE(sig.slice(32))).subtract(A.multiplyUnsafe(k)).toBytes();
  return R.every((b, i) => b === sig[i]);
}
const ed25519Spki = (raw) =>
  createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });

/** Build the batch tree of 5.2: levels of nodes (bytes) from a list of digests. */
export function buildTree(digests) {
  const levels = [digests.map(leafOf)];
  while (levels.at(-1).length > 1) {
    const cur = levels.at(-1);
    const next = [];
    for (let k = 0; k + 1 < cur.length; k += 2) next.push(parentOf(cur[k], cur[k + 1]));
    if (cur.length % 2 === 1) next.push(cur.at(-1));
    levels.push(next);
  }
  return levels;
}

export function pathOf(levels, index) {
  const out = [];
  let i = index;
  for (let lv = 0; lv < levels.length - 1; lv++) {
    const j = i ^ 1;
    if (j < levels[lv].length) out.push(levels[lv][j]);
    i >>= 1;
  }
  return out;
}

/**
 * A JSON-RPC stub serving the recorded answers of expected.json (section 11): eth_chainId with the
 * recorded raw answer, eth_call by (to, data). `state.override(method, params)` may return a reply
 * ({result} or {error}) to stand in for a broken or dishonest node; `state.log` records the methods
 * asked, in order, as "eth_chainId" or "eth_call:<selector>".
 */
function startStub(state, answers) {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const msg = JSON.parse(body);
      const sel = msg.method === 'eth_call' ? String(msg.params[0].data).slice(0, 10) : '';
      state.log.push(sel ? `eth_call:${sel}` : msg.method);
      let reply = state.override ? state.override(msg.method, msg.params) : undefined;
      if (reply === undefined) {
        if (msg.method === 'eth_chainId') reply = { result: state.ethChainId };
        else if (msg.method === 'eth_call') {
          const key = `${msg.params[0].to.toLowerCase()}|${msg.params[0].data.toLowerCase()}`;
          reply = answers.has(key)
            ? { result: answers.get(key) }
            : { error: { code: -32000, message: `stub has no answer for ${key}` } };
        } else reply = { error: { code: -32601, message: 'method not found' } };
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, ...reply }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export async function selfTest(examplesDir) {
  const dir = examplesDir || path.resolve(here, '../../docs/examples');
  const read = (f) => readFileSync(path.join(dir, f));
  const X = JSON.parse(read('expected.json'));

  // ---- the three bundles: identifiers, key, proof, digest, leaf -------------------------------
  const bundles = {};
  for (const name of ['valid', 'revoked', 'suspended']) {
    const file = X[name].bundleFile;
    const bytes = read(file);
    if (X[name].bundleFileSha256) eq(`${name}.bundleFileSha256`, toHex(sha256(bytes)), X[name].bundleFileSha256);
    const b = parseBundle(bytes);
    const f = checkCredential(b.credential);
    const p = verifyProof(b.credential);
    const digest = sha256(jcsBytes(b.credential));
    bundles[name] = { bytes, b, f, p, digest, file };
    const A = toHex(keccak256(utf8(f.agencyCode)));
    eq(`${name}.agency.code`, f.agencyCode, X[name].agency.code);
    eq(`${name}.agency.agencyId`, A, X[name].agency.agencyId);
    if (X[name].agency.iri) eq(`${name}.agency.iri`, b.credential.get('issuer').get('agency'), X[name].agency.iri);
    eq(`${name}.type.name`, f.typeName, X[name].type.name);
    eq(`${name}.type.typeId`, toHex(keccak256(utf8(f.typeName))), X[name].type.typeId);
    eq(`${name}.digest`, toHex(digest), X[name].digest);
    eq(`${name}.digest = anchor.digest`, toHex(digest), b.anchor.digest);
    eq(`${name}.leaf`, toHex(leafOf(digest)), X[name].leaf);
    eq(`${name}.root`, toHex(foldPath(digest, b.anchor.path.map(fromHex))), X[name].root);
    eq(`${name}.root = anchor.root`, b.anchor.root, X[name].root);
    if (name !== 'valid') {
      eq(`${name}.publicKey`, toHex(f.key), X[name].publicKey);
      eq(`${name}.hashData`, toHex(p.hashData), X[name].hashData);
      eq(
        `${name}.statusListIndex`,
        Number(b.credential.get('credentialStatus')[0].get('statusListIndex')),
        X[name].statusListIndex,
      );
    }
  }

  // ---- valid: the proof in detail (11.3, 11.4) -------------------------------------------------
  const V = bundles.valid;
  const XP = X.valid.proof;
  const unsecuredFile = read('valid.unsecured-document.jcs.txt');
  const configFile = read('valid.proof-config.jcs.txt');
  const credentialFile = read('valid.credential.jcs.txt');
  eq('valid.unsecuredDocumentJcs (file)', Buffer.compare(Buffer.from(V.p.canonicalDocument), unsecuredFile), 0);
  eq('valid.unsecuredDocumentJcs', dec.decode(V.p.canonicalDocument), XP.unsecuredDocumentJcs);
  eq('valid.unsecuredDocumentJcsLength', V.p.canonicalDocument.length, XP.unsecuredDocumentJcsLength);
  eq('valid.unsecuredDocumentSha256', toHex(sha256(V.p.canonicalDocument)), XP.unsecuredDocumentSha256);
  eq('valid.proofConfigJcs (file)', Buffer.compare(Buffer.from(V.p.canonicalProofConfig), configFile), 0);
  eq('valid.proofConfigJcs', dec.decode(V.p.canonicalProofConfig), XP.proofConfigJcs);
  eq('valid.proofConfigJcsLength', V.p.canonicalProofConfig.length, XP.proofConfigJcsLength);
  eq('valid.proofConfigSha256', toHex(sha256(V.p.canonicalProofConfig)), XP.proofConfigSha256);
  eq('valid.hashData', toHex(V.p.hashData), XP.hashData);
  const proof = V.b.credential.get('proof');
  const issuerId = V.b.credential.get('issuer').get('id');
  eq('valid.verificationMethod', proof.get('verificationMethod'), XP.verificationMethod);
  eq('valid.publicKey.did', issuerId, XP.publicKey.did);
  eq('valid.publicKey.multibase', issuerId.slice('did:key:'.length), XP.publicKey.multibase);
  eq('valid.publicKey.multicodecBytes', toHex(decodeMultibaseZ(XP.publicKey.multibase)), XP.publicKey.multicodecBytes);
  eq('valid.publicKey.raw', toHex(V.f.key), XP.publicKey.raw);
  eq('valid.publicKey weak-key rule', weakKeyReason(V.f.key), null);
  eq('valid.proofValue', proof.get('proofValue'), XP.proofValue);
  eq('valid.signature', toHex(V.p.signature), XP.signature);
  eq('valid.signatureValid (cofactorless, 4.6)', true, XP.signatureValid); // verifyProof threw otherwise
  eq(
    'valid.signatureValid (node:crypto / OpenSSL cross-check)',
    nodeVerify(null, V.p.hashData, ed25519Spki(Buffer.from(V.f.key)), Buffer.from(V.p.signature)),
    XP.signatureValid,
  );
  const credJcs = jcsBytes(V.b.credential);
  eq('valid.credentialJcs (file)', Buffer.compare(Buffer.from(credJcs), credentialFile), 0);
  eq('valid.credentialJcsLength', credJcs.length, X.valid.credentialJcsLength);
  eq('valid.credentialJcsFirst64', dec.decode(credJcs.slice(0, 64)), X.valid.credentialJcsFirst64);
  eq('valid.credentialJcsLast64', dec.decode(credJcs.slice(-64)), X.valid.credentialJcsLast64);

  // ---- Merkle steps (11.5) and the whole batch -------------------------------------------------
  let node = leafOf(V.digest);
  V.b.anchor.path.forEach((s, k) => {
    const sibling = fromHex(s);
    const st = X.valid.merkleSteps[k];
    const hashed = Buffer.compare(Buffer.from(node), Buffer.from(sibling)) <= 0 ? concat(node, sibling) : concat(sibling, node);
    eq(`valid.merkleSteps[${k}].node`, toHex(node), st.node);
    eq(`valid.merkleSteps[${k}].sibling`, s, st.sibling);
    eq(`valid.merkleSteps[${k}].hashed`, toHex(hashed), st.hashed);
    node = parentOf(node, sibling);
    eq(`valid.merkleSteps[${k}].parent`, toHex(node), st.parent);
  });
  eq('valid.merkleSteps count', V.b.anchor.path.length, X.valid.merkleSteps.length);
  const batch = JSON.parse(read(X.valid.batch.file));
  const levels = buildTree(batch.digests.map(fromHex));
  eq('valid.batch.leaves', levels[0].map(toHex), X.valid.batch.leaves);
  eq('valid.batch.levels', levels.map((l) => l.map(toHex)), X.valid.batch.levels);
  eq('batch-digests.root', toHex(levels.at(-1)[0]), batch.root);
  eq('valid.batch.leafIndex digest', batch.digests[X.valid.batch.leafIndex], toHex(V.digest));
  eq('valid path rebuilt from the batch', pathOf(levels, X.valid.batch.leafIndex).map(toHex), V.b.anchor.path);
  eq('revoked path rebuilt from the batch', pathOf(levels, batch.digests.indexOf(X.revoked.digest)).map(toHex), bundles.revoked.b.anchor.path);

  // ---- selectors, topics (6.2, 6.3) ------------------------------------------------------------
  for (const [sig, sel] of Object.entries(X.selectors)) eq(`selector ${sig}`, toHex(selector(sig)), sel);
  for (const [sig, topic] of Object.entries(X.eventTopics)) eq(`topic ${sig}`, toHex(keccak256(utf8(sig))), topic);

  // ---- calldata and decoding of every recorded chain answer (11.6) -----------------------------
  const C = X.chain;
  const contractAddr = (sig) => (VIEWS[sig].contract === 'ledger' ? C.ledger : C.registry);
  const answers = new Map();
  const checkCall = (label, entry, args) => {
    eq(`${label}.to`, entry.to, contractAddr(entry.signature));
    eq(`${label}.data`, toHex(encodeCall(entry.signature, args)), entry.data);
    answers.set(`${entry.to.toLowerCase()}|${entry.data.toLowerCase()}`, entry.result);
    if (entry.signature === 'registry()') return;
    let decoded;
    if (entry.signature === 'agencyInfo(bytes32)') decoded = decodeAgencyInfo(entry.result);
    else {
      const vals = decodeStatic(entry.result, VIEWS[entry.signature].out);
      decoded = Object.fromEntries(Object.keys(entry.decoded).map((k, i) => [k, vals[i]]));
    }
    for (const [k, v] of Object.entries(entry.decoded)) {
      const mine = decoded[k];
      eq(`${label}.decoded.${k}`, typeof mine === 'bigint' ? Number(mine) : mine, v);
    }
  };
  for (const name of ['valid', 'revoked', 'suspended']) {
    const { b, f, digest } = bundles[name];
    const A = keccak256(utf8(f.agencyCode));
    const root = fromHex(b.anchor.root);
    const typeId = keccak256(utf8(f.typeName));
    const args = {
      anchorOf: [A, root], agencyInfo: [A], keyOf: [A, f.key], isPermitted: [A, typeId],
      rootStatusOf: [A, root], statusOf: [A, digest], credentialStatus: [A, digest, root],
    };
    for (const [view, a] of Object.entries(args)) checkCall(`chain.${name}.${view}`, C[name][view], a);
  }
  const other = fromHex(C.otherNamespace.agencyId);
  eq('chain.otherNamespace.agencyId', toHex(keccak256(utf8(X.suspended.agency.code))), C.otherNamespace.agencyId);
  checkCall('chain.otherNamespace.anchorOf', C.otherNamespace.anchorOf, [other, fromHex(X.valid.root)]);
  checkCall('chain.otherNamespace.keyOf', C.otherNamespace.keyOf, [other, V.f.key]);
  const op = fromHex(C.operator.address);
  checkCall('chain.operator.agencyOf', C.operator.agencyOf, [op]);
  checkCall('chain.operator.operatorInfo', C.operator.operatorInfo, [op]);
  checkCall('chain.operator.agencyCount', C.operator.agencyCount, []);
  checkCall('chain.registryOfLedger', C.registryOfLedger, []);
  eq('chain.registryOfLedger.decoded', '0x' + C.registryOfLedger.result.slice(-40), C.registry.toLowerCase());
  for (const [label, logs] of Object.entries(C.logs)) {
    for (const log of logs) eq(`chain.logs.${label}.topic0`, log.topics[0], toHex(keccak256(utf8(log.event))));
  }

  // ---- status lists (11.7, section 8) ----------------------------------------------------------
  for (const [bname, purposes] of Object.entries(X.statusLists)) {
    for (const [purpose, e] of Object.entries(purposes)) {
      const label = `statusLists.${bname}.${purpose}`;
      const list = parseStrict(read(e.file));
      const subject = list.get('credentialSubject');
      eq(`${label}.id`, list.get('id'), e.url);
      eq(`${label}.purpose`, subject.get('statusPurpose'), e.purpose);
      const enc = subject.get('encodedList');
      eq(`${label}.encodedList multibase u`, enc[0], 'u');
      const bits = gunzipSync(Buffer.from(enc.slice(1), 'base64url'));
      eq(`${label}.listBits`, bits.length * 8, e.listBits);
      const set = [];
      bits.forEach((byte, k) => {
        for (let j = 0; j < 8; j++) if (byte & (0x80 >> j)) set.push(k * 8 + j);
      });
      eq(`${label}.setIndexes`, set, e.setIndexes);
      eq(`${label}.byte`, e.index >> 3, e.byte);
      eq(`${label}.mask`, 0x80 >> (e.index % 8), e.mask);
      eq(`${label}.byteValue`, bits[e.byte], e.byteValue);
      eq(`${label}.bit`, bits[e.index >> 3] & (0x80 >> (e.index % 8)) ? 1 : 0, e.bit);
      const entry = bundles[bname].b.credential
        .get('credentialStatus')
        .find((x) => x.get('statusPurpose') === purpose);
      eq(`${label}.entry`, Object.fromEntries(entry), e.entry);
      const lp = verifyProof(list);
      eq(`${label}.proofHashData`, toHex(lp.hashData), e.proofHashData);
      eq(`${label}.signatureValid`, true, e.signatureValid);
    }
  }

  // ---- the W3C eddsa-jcs-2022 and eddsa-rdfc-2022 vectors (12.2, 13.5) ---------------------------
  w3cVectors(path.join(dir, 'vectors'));

  // ---- full verification against the recorded chain (a local JSON-RPC stub) --------------------
  const chainId = BigInt(C.chainId);
  eq('chain.ethChainId.request', C.ethChainId.request.method, 'eth_chainId');
  eq('chain.ethChainId.result is the chain id (10.1 rule 2)', BigInt(C.ethChainId.result), chainId);
  const trustRoots = [{ chainId, ledger: C.ledger.toLowerCase(), registry: C.registry.toLowerCase() }];
  const state = { ethChainId: C.ethChainId.result, override: null, log: [] };
  const server = await startStub(state, answers);
  const url = `http://127.0.0.1:${server.address().port}/`;
  const rpc = new RpcClient(url);
  const now = parseDateTimeStamp('2027-01-01T00:00:00Z').micros;
  const opts = { trustRoots, rpcFor: () => rpc, now };
  const codes = (r) => r.checks.map((c) => `${c.name}:${c.status}:${c.code}`);
  try {
    for (const name of ['valid', 'revoked', 'suspended']) {
      state.log = [];
      const r = await verifyBundle(bundles[name].bytes, opts);
      const exp = C.reports[name];
      eq(`chain.reports.${name}.verdict`, r.verdict, exp.verdict);
      eq(`chain.reports.${name}.checks`, codes(r), exp.checks.map((c) => `${c.name}:${c.status}:${c.code}`));
      eq(`chain.reports.${name}.credential (10.6)`, r.credential, exp.credential);
      // 10.5 rule 1: the reads and their order; 10.1 rule 2: eth_chainId before each of them (this
      // verifier's choice: before every read)
      const sel = (sig) => `eth_call:${toHex(selector(sig))}`;
      eq(`chain.reports.${name}: reads in the order of 10.3, eth_chainId before each`, state.log, [
        'anchorOf(bytes32,bytes32)', 'agencyInfo(bytes32)', 'keyOf(bytes32,bytes32)', 'isPermitted(bytes32,bytes32)',
        'rootStatusOf(bytes32,bytes32)', 'statusOf(bytes32,bytes32)',
      ].flatMap((sig) => ['eth_chainId', sel(sig)]));
    }
    await negativeCases(bundles.valid.bytes, opts, { chainId });
    await chainCases(bundles.valid.bytes, opts, state, { chainId, valid: C.valid });
  } finally {
    server.close();
  }
  genericProofCases();

  process.stdout.write(`self-test: ${passed} passed, ${failed} failed\n`);
  return failed ? 1 : 0;
}

// ---- W3C vectors (protocol.md 12.2; 13.5 for what eddsa-rdfc-2022 allows without RDFC-1.0) ------

function w3cVectors(vdir) {
  const rd = (f) => readFileSync(path.join(vdir, f));
  const txt = (f) => rd(f).toString('utf8');
  const J = 'eddsa-jcs-2022/';
  // the key pair: did:key-style Multikey (ed25519-pub 0xed01) and the secret (ed25519-priv 0x8026)
  const kp = JSON.parse(txt(J + 'keyPair.json'));
  const pubBytes = decodeMultibaseZ(kp.publicKeyMultibase);
  const secBytes = decodeMultibaseZ(kp.secretKeyMultibase);
  eq('w3c keyPair: public key header ed01, 34 bytes', [pubBytes.length, pubBytes[0], pubBytes[1]], [34, 0xed, 0x01]);
  eq('w3c keyPair: secret key header 8026, 34 bytes', [secBytes.length, secBytes[0], secBytes[1]], [34, 0x80, 0x26]);
  const pub = pubBytes.slice(2);
  eq('w3c keyPair: the public key is the secret key\'s', toHex(ed25519.getPublicKey(secBytes.slice(2))), toHex(pub));
  eq('w3c keyPair: weak-key rule (4.5)', weakKeyReason(pub), null);
  // from unsecured.json and proofOptions.json: the two JCS texts, their hashes, hashData (4.1 steps 2-4)
  const unsecured = parseStrict(rd(J + 'unsecured.json'));
  const options = parseStrict(rd(J + 'proofOptions.json'));
  const canonDoc = jcsBytes(unsecured);
  const canonCfg = jcsBytes(options);
  eq('w3c jcs: canonicalDocument.txt', Buffer.compare(Buffer.from(canonDoc), rd(J + 'canonicalDocument.txt')), 0);
  eq('w3c jcs: canonicalProofConfig.txt', Buffer.compare(Buffer.from(canonCfg), rd(J + 'canonicalProofConfig.txt')), 0);
  eq('w3c jcs: documentHash.txt', toHex(sha256(canonDoc)).slice(2), txt(J + 'documentHash.txt'));
  eq('w3c jcs: proofConfigHash.txt', toHex(sha256(canonCfg)).slice(2), txt(J + 'proofConfigHash.txt'));
  const combined = concat(sha256(canonCfg), sha256(canonDoc));
  eq('w3c jcs: combinedHash.txt (config hash first)', toHex(combined).slice(2), txt(J + 'combinedHash.txt'));
  eq('w3c jcs: signatureBase58.txt = z + base58(signatureHex.txt)', toHex(decodeMultibaseZ(txt(J + 'signatureBase58.txt'))).slice(2), txt(J + 'signatureHex.txt'));
  eq('w3c jcs: Ed25519-Sign(secret, combinedHash) = signatureHex.txt (4.1 step 5)', toHex(ed25519.sign(combined, secBytes.slice(2))).slice(2), txt(J + 'signatureHex.txt'));
  // signed.json: 4.2 steps 1-10 (no format check: its issuer is a URL)
  const signed = parseStrict(rd(J + 'signed.json'));
  let r = tryProof(signed);
  eq('w3c jcs: signed.json verifies by 4.2 steps 1-10', r.code, 'SIGNATURE_VALID');
  eq('w3c jcs: signed.json hashData = combinedHash.txt', r.hashData, txt(J + 'combinedHash.txt'));
  eq('w3c jcs: signed.json proofValue = signatureBase58.txt', signed.get('proof').get('proofValue'), txt(J + 'signatureBase58.txt'));
  eq('w3c jcs: signed.json without its proof is unsecured.json', jcsText(new Map([...signed].filter(([k]) => k !== 'proof'))), jcsText(unsecured));
  const altered = parseStrict(rd(J + 'signed.json'));
  altered.set('name', 'Altered Credential');
  eq('w3c jcs: signed.json altered fails', tryProof(altered).code, 'INVALID_SIGNATURE');
  // repo-url-vm: a URL verification method, verified with the key pair's public key taken as the key
  const R = J + 'repo-url-vm/';
  const signedUrl = parseStrict(rd(R + 'signedJCS.json'));
  const cfgUrl = parseStrict(rd(R + 'proofConfigJCS.json'));
  const proofUrl = signedUrl.get('proof');
  eq('w3c jcs repo-url-vm: proofConfigJCS.json is the proof without proofValue', jcsText(new Map([...proofUrl].filter(([k]) => k !== 'proofValue'))), jcsText(cfgUrl));
  eq('w3c jcs repo-url-vm: proofValue = z + base58(sigHexJCS.txt)', toHex(decodeMultibaseZ(proofUrl.get('proofValue'))).slice(2), txt(R + 'sigHexJCS.txt'));
  eq('w3c jcs repo-url-vm: without a key it is refused (no URL is resolved)', tryProof(signedUrl).code, 'INVALID_VERIFICATION_METHOD');
  eq('w3c jcs repo-url-vm: verifies with keyPair.json\'s public key', tryProof(signedUrl, { resolvedKey: pub }).code, 'SIGNATURE_VALID');
  eq('w3c jcs repo-url-vm: not with another key', tryProof(signedUrl, { resolvedKey: ed25519.getPublicKey(new Uint8Array(32).fill(7)) }).code, 'INVALID_SIGNATURE');
  // eddsa-rdfc-2022 (13.5): this verifier has no RDFC-1.0; what can be checked without it
  const F = 'eddsa-rdfc-2022/';
  const rdfcCombined = fromHex('0x' + txt(F + 'combinedHash.txt'));
  eq('w3c rdfc: combinedHash = SHA-256(canonicalProofConfig.txt) || SHA-256(canonical document) (first half)', toHex(rdfcCombined.slice(0, 32)), toHex(sha256(rd(F + 'canonicalProofConfig.txt'))));
  const rdfcSigned = parseStrict(rd(F + 'signed.json'));
  const rdfcSig = decodeMultibaseZ(rdfcSigned.get('proof').get('proofValue'));
  eq('w3c rdfc: proofValue decodes to 64 bytes', rdfcSig.length, 64);
  eq('w3c rdfc: the signature verifies on combinedHash.txt with keyPair.json\'s key (cofactorless, 4.6)', verifyEd25519(pub, rdfcCombined, rdfcSig), true);
  const cfg = parseStrict(rd(F + 'proofConfig.json'));
  eq('w3c rdfc: proofConfig.json is the proof without proofValue, with the document\'s @context', jcsText(cfg), jcsText(new Map([...[...rdfcSigned.get('proof')].filter(([k]) => k !== 'proofValue'), ['@context', rdfcSigned.get('@context')]])));
  eq('w3c rdfc: refused by eddsa-jcs-2022 verification (WRONG_CRYPTOSUITE)', tryProof(rdfcSigned, { resolvedKey: pub }).code, 'WRONG_CRYPTOSUITE');
}

function tryProof(C, o) {
  try {
    const p = verifyProof(C, o);
    return { code: 'SIGNATURE_VALID', hashData: toHex(p.hashData).slice(2) };
  } catch (e) {
    return { code: e.code || String(e) };
  }
}

// ---- generic credentials (3.8) and the proof's @context equality (4.2 step 7), signed here ---------

function genericProofCases() {
  const seed = sha256(utf8('independent verifier self-test generic credential'));
  const pub = ed25519.getPublicKey(seed);
  const did = 'did:key:z' + encodeBase58(concat(new Uint8Array([0xed, 0x01]), pub));
  const CTX = ['https://www.w3.org/ns/credentials/v2', 'https://www.w3.org/ns/credentials/undefined-terms/v2'];
  // sign with the proof's @context substituted into the document (4.1, 4.2 step 7.3)
  const make = (docContextExtra, proofContextExtra, edit = (x) => x, signer = (hashData) => ed25519.sign(hashData, seed)) => {
    const doc = edit({
      '@context': [...CTX, 'https://www.w3.org/ns/credentials/examples/v2', ...docContextExtra],
      id: 'https://example.org/credentials/1',
      type: ['VerifiableCredential', 'GenericCredential', 'ExampleCredential', 'https://example.org/T'],
      issuer: { id: did, name: 'Self-test agency', agency: 'urn:certledger:agency:self-test' },
      validFrom: '2026-01-01T08:00:00+08:00',
      credentialSubject: [{ id: 'did:example:1', n: 1 }, { note: 'two subjects' }],
      credentialStatus: [
        { type: ['ExampleStatus'], id: 'https://example.org/status/1' },
        { type: 'BitstringStatusListEntry', statusPurpose: 'suspension', statusListIndex: '123456789012345', statusListCredential: 'https://example.org/s', statusSize: 1 },
        { type: 'BitstringStatusListEntry', statusPurpose: 'revocation', statusListIndex: '123456789012345', statusListCredential: 'https://example.org/r', id: 'https://example.org/r#123456789012345' },
      ],
    });
    const opts = {
      type: 'DataIntegrityProof', cryptosuite: 'eddsa-jcs-2022', created: '2026-01-01T00:00:00Z',
      verificationMethod: `${did}#${did.slice(8)}`, proofPurpose: 'assertionMethod',
      '@context': [...CTX, 'https://www.w3.org/ns/credentials/examples/v2', ...proofContextExtra],
    };
    const U = parseText(JSON.stringify(doc));
    const O = parseText(JSON.stringify(opts));
    const hashed = new Map(U);
    hashed.set('@context', O.get('@context'));
    const sig = signer(concat(sha256(jcsBytes(O)), sha256(jcsBytes(hashed))));
    const C = new Map(U);
    C.set('proof', new Map([...O, ['proofValue', 'z' + encodeBase58(sig)]]));
    return C;
  };
  const fmt = (C) => {
    try {
      return checkCredential(C).generic ? 'FORMAT_OK (generic)' : 'FORMAT_OK (typed)';
    } catch (e) {
      return e.code || String(e);
    }
  };
  let C = make([{ x: 1 }], [{ x: 1 }]);
  eq('generic 3.8: a full generic credential passes format', fmt(C), 'FORMAT_OK (generic)');
  eq('generic 3.8: its typeName is GenericCredential', checkCredential(C).typeName, 'GenericCredential');
  eq('generic 3.8: and verifies', tryProof(C).code, 'SIGNATURE_VALID');
  // 4.2 step 7: `own` starts with `signed` under JSON equality: numbers by value, booleans only
  // themselves, a number never equals a boolean (true is not 1)
  C = make([{ x: 1 }], [{ x: true }]);
  eq('4.2 step 7: proof {"x": true} against the document\'s {"x": 1}: a boolean never equals a number', tryProof(C).code, 'CONTEXT_MISMATCH');
  C = make([{ x: true }], [{ x: 1 }]);
  eq('4.2 step 7: proof {"x": 1} against {"x": true}', tryProof(C).code, 'CONTEXT_MISMATCH');
  C = make([{ x: 1 }], [{ x: 1.0 }]);
  eq('4.2 step 7: proof {"x": 1.0} matches {"x": 1}', tryProof(C).code, 'SIGNATURE_VALID');
  C = make([{ x: 0 }], [{ x: false }]);
  eq('4.2 step 7: proof {"x": false} against {"x": 0}', tryProof(C).code, 'CONTEXT_MISMATCH');
  C = make([{ x: true, y: false }], [{ y: false, x: true }]);
  eq('4.2 step 7: true equals true, false equals false', tryProof(C).code, 'SIGNATURE_VALID');
  C = make([{ x: true }], [{ x: false }]);
  eq('4.2 step 7: true does not equal false', tryProof(C).code, 'CONTEXT_MISMATCH');
  C = make([{ x: 0 }], [{ x: -0 }]);
  eq('4.2 step 7: -0 equals 0 (numeric value)', tryProof(C).code, 'SIGNATURE_VALID');
  C = make([{ x: 1 }], [{ x: 2 }]);
  eq('4.2 step 7: proof {"x": 2} does not match {"x": 1}', tryProof(C).code, 'CONTEXT_MISMATCH');
  C = make([{ x: 1 }], [{ x: '1' }]);
  eq('4.2 step 7: a string never equals a number', tryProof(C).code, 'CONTEXT_MISMATCH');
  C = make([{ x: null }], [{ x: false }]);
  eq('4.2 step 7: null equals only null', tryProof(C).code, 'CONTEXT_MISMATCH');
  C = make([{ a: 1, b: [true, 'x'] }], [{ b: [true, 'x'], a: 1e0 }]);
  eq('4.2 step 7: objects by names and values, member order ignored', tryProof(C).code, 'SIGNATURE_VALID');
  C = make([{ a: 1, b: [true, 'x'] }], [{ b: [1, 'x'], a: 1e0 }]);
  eq('4.2 step 7: true against 1 deep inside an object', tryProof(C).code, 'CONTEXT_MISMATCH');
  C = make([{ x: 1 }], [{ x: 1 }, 'https://example.org/more']);
  eq('4.2 step 7: a signed list longer than the document\'s is no prefix', tryProof(C).code, 'CONTEXT_MISMATCH');
  // 4.6 rule 2: a signature whose R is a point of small order is refused. The key's holder can make
  // one (R = the identity, S = k·a: then [S]B - [k]A = the identity = R), which the cofactorless
  // equation alone (and OpenSSL) accepts.
  const { scalar: a } = ed25519.utils.getExtendedPublicKey(seed);
  const identityR = fromHex('0x01' + '00'.repeat(31));
  const smallOrderSigner = (R, keyBytes = pub, scalar = a) => (hashData) => {
    const k = intLE(sha512(concat(R, keyBytes, hashData))) % L_ORDER;
    return concat(R, le32((k * scalar) % L_ORDER));
  };
  C = make([], [], (d) => d, smallOrderSigner(identityR));
  eq('4.6 rule 2: a credential signed with R = identity, S = k·a (the test\'s own key): INVALID_SIGNATURE', tryProof(C).code, 'INVALID_SIGNATURE');
  const craftedHash = sha256(utf8('4.6 rule 2'));
  const crafted = smallOrderSigner(identityR)(craftedHash);
  eq('4.6 rule 2: R = identity, S = k·a satisfies the cofactorless equation [S]B - [k]A = R', cofactorlessEquation(pub, craftedHash, crafted), true);
  eq('4.6 rule 2: ... and OpenSSL (node:crypto) accepts it, as 4.6 says', nodeVerify(null, craftedHash, ed25519Spki(Buffer.from(pub)), Buffer.from(crafted)), true);
  eq('4.6 rule 2: ... but this verifier refuses it', verifyEd25519(pub, craftedHash, crafted), false);
  eq('4.6 rule 2: R = identity with the sign bit set is refused too', verifyEd25519(pub, craftedHash, concat(fromHex('0x01' + '00'.repeat(30) + '80'), crafted.slice(32))), false);
  eq('4.6: an honest signature by the same key verifies', verifyEd25519(pub, craftedHash, ed25519.sign(craftedHash, seed)), true);
  // every small-order encoding of 4.5 rule 2, with either sign bit, is caught; an honest R is not
  for (const hex of ED25519_TORSION_SUBGROUP) {
    const enc = fromHex('0x' + hex);
    const flipped = Uint8Array.from(enc, (b, i) => (i === 31 ? b ^ 0x80 : b));
    eq(`4.6 rule 2: small-order R ${hex.slice(0, 8)}… refused`, isSmallOrderEncoding(enc), true);
    eq(`4.6 rule 2: small-order R ${hex.slice(0, 8)}… with the other sign bit refused`, isSmallOrderEncoding(flipped), true);
  }
  eq('4.6 rule 2: an honest R is not of small order', isSmallOrderEncoding(ed25519.sign(craftedHash, seed).slice(0, 32)), false);
  // an R of order 8 that satisfies the equation: with a key A' = aB + T (T of order 8, allowed by 4.5)
  // and S = k·a, [S]B - [k]A' = -[k]T, so R = -[k]T for one of the four points of order 8 and some message
  const T8 = ed25519.Point.fromBytes(fromHex('0x' + ED25519_TORSION_SUBGROUP[1]));
  const torsionPub = ed25519.Point.BASE.multiply(a).add(T8).toBytes();
  const order8 = [1, 3, 5, 7].map((j) => fromHex('0x' + ED25519_TORSION_SUBGROUP[j]));
  let found = null;
  for (let i = 0; !found && i < 64; i++) {
    const m = sha256(utf8(`4.6 rule 2, order 8, ${i}`));
    for (const R of order8) {
      const sig = smallOrderSigner(R, torsionPub)(m);
      if (cofactorlessEquation(torsionPub, m, sig)) found = { m, sig };
    }
  }
  eq('4.6 rule 2: an R of order 8 satisfying the equation under a key aB + T was found', found !== null, true);
  if (found) {
    eq('4.6 rule 2: the key aB + T passes the weak-key rule (4.5)', weakKeyReason(torsionPub), null);
    eq('4.6 rule 2: OpenSSL accepts the R of order 8', nodeVerify(null, found.m, ed25519Spki(Buffer.from(torsionPub)), Buffer.from(found.sig)), true);
    eq('4.6 rule 2: this verifier refuses the R of order 8', verifyEd25519(torsionPub, found.m, found.sig), false);
  }
  // format rules of 3.8 (each edit of the full generic credential)
  const gen = (label, edit, expected) => eq(`generic 3.8: ${label}`, fmt(make([], [], edit)), expected);
  const BAD = 'CREDENTIAL_MALFORMED';
  gen('only VerifiableCredential, GenericCredential', (d) => ((d.type = d.type.slice(0, 2)), d), 'FORMAT_OK (generic)');
  gen('a urn:uuid id', (d) => ((d.id = 'urn:uuid:50344e27-57dd-4f4f-b510-eb07e76f4c21'), d), 'FORMAT_OK (generic)');
  gen('an id that is no URL string', (d) => ((d.id = 'credential 1'), d), BAD);
  gen('an id with a space', (d) => ((d.id = 'https://example.org/a b'), d), BAD);
  gen('an id starting with a digit', (d) => ((d.id = '1x:y'), d), BAD);
  gen('a context item that is a number', (d) => (d['@context'].push(1), d), BAD);
  gen('a context item that is no URL', (d) => (d['@context'].push('examples'), d), BAD);
  gen('the contexts in another order', (d) => (d['@context'].reverse(), d), BAD);
  gen('type[0] other', (d) => ((d.type[0] = 'ExampleCredential'), d), BAD);
  gen('a further type repeated', (d) => (d.type.push('ExampleCredential'), d), BAD);
  gen('a further type with white space', (d) => (d.type.push('Example　Credential'), d), BAD);
  gen('a further type with U+200B (not white space)', (d) => (d.type.push('Example​Credential'), d), 'FORMAT_OK (generic)');
  gen('a further type empty', (d) => (d.type.push(''), d), BAD);
  gen('a further type VerifiableCredential', (d) => (d.type.push('VerifiableCredential'), d), BAD);
  gen('a further type GenericCredential', (d) => (d.type.push('GenericCredential'), d), BAD);
  gen('a further type a governed type name (not refused by format)', (d) => (d.type.push('DegreeCertificate'), d), 'FORMAT_OK (generic)');
  gen('a further type not a string', (d) => (d.type.push(1), d), BAD);
  gen('validFrom in +08:00', (d) => d, 'FORMAT_OK (generic)');
  gen('validUntil in -05:00, later as an instant', (d) => ((d.validUntil = '2025-12-31T19:00:01-05:00'), d), 'FORMAT_OK (generic)');
  gen('validUntil equal as an instant', (d) => ((d.validUntil = '2025-12-31T19:00:00-05:00'), d), BAD);
  gen('validFrom 0001-01-01T00:00:00+01:00 (year 0 in UTC)', (d) => ((d.validFrom = '0001-01-01T00:00:00+01:00'), d), BAD);
  gen('validUntil 9999-12-31T23:00:00-01:00 (year 10000 in UTC)', (d) => ((d.validUntil = '9999-12-31T23:00:00-01:00'), d), BAD);
  gen('validFrom missing', (d) => (delete d.validFrom, d), BAD);
  gen('one subject object', (d) => ((d.credentialSubject = { id: 'did:example:1' }), d), 'FORMAT_OK (generic)');
  gen('one empty subject object (3.2 rule 7)', (d) => ((d.credentialSubject = {}), d), 'FORMAT_OK (generic)');
  gen('an empty subject array', (d) => ((d.credentialSubject = []), d), BAD);
  gen('a subject array with an empty object', (d) => (d.credentialSubject.push({}), d), BAD);
  gen('a subject array with a string', (d) => (d.credentialSubject.push('x'), d), BAD);
  gen('the two entries only', (d) => (d.credentialStatus.shift(), d), 'FORMAT_OK (generic)');
  gen('an other status object with a string type', (d) => (d.credentialStatus.push({ type: 'X' }), d), 'FORMAT_OK (generic)');
  gen('an other status object without type', (d) => (d.credentialStatus.push({ id: 'https://e/x' }), d), BAD);
  gen('an other status object with type ""', (d) => (d.credentialStatus.push({ type: '' }), d), BAD);
  gen('an other status object with type []', (d) => (d.credentialStatus.push({ type: [] }), d), BAD);
  gen('an other status object with type [""]', (d) => (d.credentialStatus.push({ type: ['X', ''] }), d), BAD);
  gen('an other status object with type ["BitstringStatusListEntry"]', (d) => (d.credentialStatus.push({ type: ['BitstringStatusListEntry'] }), d), BAD);
  gen('a status element that is a string', (d) => (d.credentialStatus.push('x'), d), BAD);
  gen('three BitstringStatusListEntry objects', (d) => (d.credentialStatus.push({ ...d.credentialStatus[1] }), d), BAD);
  gen('one BitstringStatusListEntry object', (d) => (d.credentialStatus.pop(), d), BAD);
  gen('the entries with the same purpose', (d) => ((d.credentialStatus[1].statusPurpose = 'revocation'), d), BAD);
  gen('an entry with statusSize 2', (d) => ((d.credentialStatus[1].statusSize = 2), d), BAD);
  gen('credentialStatus absent', (d) => (delete d.credentialStatus, d), BAD);
  gen('issuer name only white space', (d) => ((d.issuer.name = ' '), d), BAD);
  gen('a number beyond 2^53-1 in a subject', (d) => ((d.credentialSubject[0].n = 2 ** 53), d), BAD);
  const typed = (label, edit, expected) => eq(`typed 3.2: ${label}`, fmt(make([], [], (d) => {
    d['@context'] = d['@context'].slice(0, 2);
    d.id = 'urn:uuid:50344e27-57dd-4f4f-b510-eb07e76f4c21';
    d.type = ['VerifiableCredential', 'DegreeCertificate'];
    d.validFrom = '2026-01-01T00:00:00Z';
    d.credentialSubject = { n: 1 };
    d.credentialStatus = d.credentialStatus.slice(1);
    return edit(d);
  })), expected);
  typed('the same credential as a typed one', (d) => d, 'FORMAT_OK (typed)');
  typed('three contexts', (d) => (d['@context'].push('https://www.w3.org/ns/credentials/examples/v2'), d), BAD);
  typed('a third type', (d) => (d.type.push('ExampleCredential'), d), BAD);
  typed('type[1] GenericCredential makes it generic', (d) => ((d.type[1] = 'GenericCredential'), d), 'FORMAT_OK (generic)');
  typed('a URL id', (d) => ((d.id = 'https://example.org/credentials/1'), d), BAD);
  typed('a subject array', (d) => ((d.credentialSubject = [d.credentialSubject]), d), BAD);
  typed('validFrom in +08:00', (d) => ((d.validFrom = '2026-01-01T08:00:00+08:00'), d), BAD);
  typed('an other status object', (d) => (d.credentialStatus.push({ type: 'X' }), d), BAD);
  typed('entries without id (3.5 rule 2.5)', (d) => (d.credentialStatus.forEach((e) => delete e.id), d), 'FORMAT_OK (typed)');
  typed('an index of 15 digits', (d) => d, 'FORMAT_OK (typed)');
  typed('an index of 16 digits', (d) => (d.credentialStatus.forEach((e) => ((e.statusListIndex += '0'), delete e.id)), d), BAD);
  typed('statusSize 1 (3.5 rule 2.6)', (d) => ((d.credentialStatus[0].statusSize = 1), d), 'FORMAT_OK (typed)');
  typed('statusSize true (3.5 rule 2.6: a boolean is not a number)', (d) => ((d.credentialStatus[0].statusSize = true), d), BAD);
  for (const v of [2, 0, '1', null, false, [1], { n: 1 }, [true]]) {
    typed(`statusSize ${JSON.stringify(v)}`, (d) => ((d.credentialStatus[0].statusSize = v), d), BAD);
  }
}

// ---- negative cases: expectations taken from the text of protocol.md, not from CertLedger ---------

async function negativeCases(validBytes, opts, { chainId }) {
  const text = validBytes.toString('utf8');
  const mutate = (fn) => {
    const b = JSON.parse(text);
    fn(b);
    return Buffer.from(JSON.stringify(b, null, 2));
  };
  const run = async (label, bytes, expected, o = opts) => {
    const r = await verifyBundle(bytes, o);
    const got = r.checks.map((c) => c.code);
    eq(`negative: ${label}`, [r.verdict, ...got], expected);
  };
  const S = 'SKIPPED';
  const formatFail = (code) => ['INVALID', code, S, S, S, S, S];
  const ok = ['FORMAT_OK', 'SIGNATURE_VALID', 'ANCHORED', 'ISSUER_AUTHORISED', 'STATUS_ACTIVE', 'WITHIN_VALIDITY'];

  await run('the valid bundle', validBytes, ['VALID', ...ok]);
  await run('version 1 (7.3)', mutate((b) => (b.version = 1)), formatFail('UNSUPPORTED_VERSION'));
  await run('version 3 (7.3)', mutate((b) => (b.version = 3)), formatFail('UNSUPPORTED_VERSION'));
  await run('version 2.0 (7.2 rule 4)', Buffer.from(text.replace('"version": 2', '"version": 2.0')), formatFail('BUNDLE_MALFORMED'));
  await run('version "2"', mutate((b) => (b.version = '2')), formatFail('BUNDLE_MALFORMED'));
  await run('version missing', mutate((b) => delete b.version), formatFail('BUNDLE_MALFORMED'));
  await run('version 1 and unknown field (rule 2 first)', mutate((b) => ((b.version = 1), (b.extra = 1))), formatFail('BUNDLE_MALFORMED'));
  await run('version 1 and bad anchor (rule 4 first)', mutate((b) => ((b.version = 1), (b.anchor.digest = 'x'))), formatFail('UNSUPPORTED_VERSION'));
  await run('type missing', mutate((b) => delete b.type), formatFail('BUNDLE_MALFORMED'));
  await run('byte order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), validBytes]), formatFail('BUNDLE_MALFORMED'));
  const broken = Buffer.from(validBytes);
  broken[broken.indexOf(Buffer.from('何'))] = 0xff;
  await run('not UTF-8', broken, formatFail('BUNDLE_MALFORMED'));
  await run('duplicate member (escaped spelling)', Buffer.from(text.replace('"type": "CertLedgerBundle",', '"type": "CertLedgerBundle", "t\\u0079pe": "CertLedgerBundle",')), formatFail('BUNDLE_MALFORMED'));
  await run('duplicate member deep in the subject', Buffer.from(text.replace('"name": "何敏 (He)"', '"name": "何敏 (He)", "name": "x"')), formatFail('BUNDLE_MALFORMED'));
  await run('NaN', Buffer.from(text.replace('"blockNumber": 11', '"blockNumber": NaN')), formatFail('BUNDLE_MALFORMED'));
  await run('unknown anchor member', mutate((b) => (b.anchor.extra = 'x')), formatFail('BUNDLE_MALFORMED'));
  await run('upper-case digest hex', mutate((b) => (b.anchor.digest = b.anchor.digest.toUpperCase().replace('0X', '0x'))), formatFail('BUNDLE_MALFORMED'));
  await run('blockNumber 0 is fine (informative)', mutate((b) => (b.anchor.blockNumber = 0)), ['VALID', ...ok]);
  await run('blockNumber as string', mutate((b) => (b.anchor.blockNumber = '11')), formatFail('BUNDLE_MALFORMED'));
  await run('blockNumber 2^64', Buffer.from(text.replace('"blockNumber": 11', '"blockNumber": 18446744073709551616')), formatFail('BUNDLE_MALFORMED'));
  await run('blockNumber 2^64-1', Buffer.from(text.replace('"blockNumber": 11', '"blockNumber": 18446744073709551615')), ['VALID', ...ok]);
  await run('path of 65 elements', mutate((b) => (b.anchor.path = Array(65).fill(b.anchor.root))), formatFail('BUNDLE_MALFORMED'));
  await run('ledger on another chain than registry', mutate((b) => (b.anchor.ledger = b.anchor.ledger.replace('31337', '1'))), formatFail('BUNDLE_MALFORMED'));
  const badChecksum = (s) => s.replace('0x2a079a554c4b4De669C7659108de3A583E739c8C', '0x2a079a554c4b4de669C7659108de3A583E739c8C');
  await run('wrong EIP-55 checksum', mutate((b) => (b.anchor.ledger = badChecksum(b.anchor.ledger))), formatFail('BUNDLE_MALFORMED'));
  await run('all lower-case addresses', mutate((b) => ((b.anchor.ledger = b.anchor.ledger.toLowerCase()), (b.anchor.registry = b.anchor.registry.toLowerCase()))), ['VALID', ...ok]);
  await run('all upper-case address digits', mutate((b) => (b.anchor.ledger = 'eip155:31337:0x' + b.anchor.ledger.slice(-40).toUpperCase())), ['VALID', ...ok]);
  await run('depth 512 is fine, 513 is not', Buffer.from(text.replace('"name": "何敏 (He)"', '"name": "何敏 (He)", "deep": ' + '['.repeat(509) + ']'.repeat(509))), ['INVALID', 'FORMAT_OK', 'INVALID_SIGNATURE', 'DIGEST_MISMATCH', S, S, 'WITHIN_VALIDITY']);
  await run('depth 513', Buffer.from(text.replace('"name": "何敏 (He)"', '"name": "何敏 (He)", "deep": ' + '['.repeat(510) + ']'.repeat(510))), formatFail('BUNDLE_MALFORMED'));
  await run('2^53 in a claim (3.7)', Buffer.from(text.replace('"name": "何敏 (He)"', '"name": "何敏 (He)", "n": 9007199254740992')), formatFail('CREDENTIAL_MALFORMED'));
  await run('1e16 in a claim (3.7)', Buffer.from(text.replace('"name": "何敏 (He)"', '"name": "何敏 (He)", "n": 1e16')), formatFail('CREDENTIAL_MALFORMED'));
  await run('1e400 in a claim (3.7)', Buffer.from(text.replace('"name": "何敏 (He)"', '"name": "何敏 (He)", "n": 1e400')), formatFail('CREDENTIAL_MALFORMED'));
  await run('2^53-1 in a claim is fine (then the signature fails)', Buffer.from(text.replace('"name": "何敏 (He)"', '"name": "何敏 (He)", "n": -9007199254740991')), ['INVALID', 'FORMAT_OK', 'INVALID_SIGNATURE', 'DIGEST_MISMATCH', S, S, 'WITHIN_VALIDITY']);
  await run('lone surrogate in a claim (3.3 rule 5)', Buffer.from(text.replace('"name": "何敏 (He)"', '"name": "\\ud800"')), ['INVALID', 'FORMAT_OK', 'NOT_CANONICALIZABLE', 'NOT_CANONICALIZABLE', S, S, 'WITHIN_VALIDITY']);
  await run('three contexts', mutate((b) => b.credential['@context'].push('https://example.org/x')), formatFail('CREDENTIAL_MALFORMED'));
  await run('validUntil null', mutate((b) => (b.credential.validUntil = null)), formatFail('CREDENTIAL_MALFORMED'));
  await run('validFrom not UTC', mutate((b) => (b.credential.validFrom = '2026-12-07T21:20:24+08:00')), formatFail('CREDENTIAL_MALFORMED'));
  await run('validFrom -00:00 is UTC', mutate((b) => (b.credential.validFrom = '2026-12-07T13:20:24-00:00')), ['INVALID', 'FORMAT_OK', 'INVALID_SIGNATURE', 'DIGEST_MISMATCH', S, S, 'WITHIN_VALIDITY']);
  await run('validFrom 29 February 2027', mutate((b) => (b.credential.validFrom = '2027-02-29T00:00:00Z')), formatFail('CREDENTIAL_MALFORMED'));
  await run('proof set', mutate((b) => (b.credential.proof = [b.credential.proof])), formatFail('CREDENTIAL_MALFORMED'));
  await run('issuer.name only white space', mutate((b) => (b.credential.issuer.name = ' \u3000\u0085')), formatFail('CREDENTIAL_MALFORMED'));
  await run('agency IRI upper case', mutate((b) => (b.credential.issuer.agency = b.credential.issuer.agency.toUpperCase())), formatFail('CREDENTIAL_MALFORMED'));
  await run('type[1] reserved', mutate((b) => (b.credential.type[1] = 'VerifiablePresentation')), formatFail('CREDENTIAL_MALFORMED'));
  await run('same status purposes', mutate((b) => (b.credential.credentialStatus[1].statusPurpose = 'revocation')), formatFail('CREDENTIAL_MALFORMED'));
  await run('statusListIndex as a number', mutate((b) => b.credential.credentialStatus.forEach((e) => (e.statusListIndex = 1))), formatFail('CREDENTIAL_MALFORMED'));
  await run('an unknown credential member is allowed (3.2 rule 11)', mutate((b) => (b.credential.extra = 'x')), ['INVALID', 'FORMAT_OK', 'INVALID_SIGNATURE', 'DIGEST_MISMATCH', S, S, 'WITHIN_VALIDITY']);
  await run('proofValue not 64 bytes', mutate((b) => (b.credential.proof.proofValue = 'z111')), ['INVALID', 'FORMAT_OK', 'INVALID_PROOF_VALUE', 'DIGEST_MISMATCH', S, S, 'WITHIN_VALIDITY']);
  await run('proofValue not base58', mutate((b) => (b.credential.proof.proofValue = 'z0OIl')), ['INVALID', 'FORMAT_OK', 'INVALID_PROOF_VALUE', 'DIGEST_MISMATCH', S, S, 'WITHIN_VALIDITY']);
  await run('proof @context not a prefix', mutate((b) => (b.credential.proof['@context'] = ['https://example.org/x'])), ['INVALID', 'FORMAT_OK', 'CONTEXT_MISMATCH', 'DIGEST_MISMATCH', S, S, 'WITHIN_VALIDITY']);
  await run('anchor null', mutate((b) => (b.anchor = null)), ['INVALID', 'FORMAT_OK', 'SIGNATURE_VALID', 'NOT_ANCHORED', S, S, 'WITHIN_VALIDITY']);
  await run('changed claim', mutate((b) => (b.credential.credentialSubject.name = 'X')), ['INVALID', 'FORMAT_OK', 'INVALID_SIGNATURE', 'DIGEST_MISMATCH', S, S, 'WITHIN_VALIDITY']);
  await run('changed path element', mutate((b) => (b.anchor.path[1] = '0x' + '11'.repeat(32))), ['INVALID', 'FORMAT_OK', 'SIGNATURE_VALID', 'MERKLE_PATH_INVALID', S, S, 'WITHIN_VALIDITY']);
  await run('changed digest', mutate((b) => (b.anchor.digest = '0x' + '22'.repeat(32))), ['INVALID', 'FORMAT_OK', 'SIGNATURE_VALID', 'DIGEST_MISMATCH', S, S, 'WITHIN_VALIDITY']);
  await run('untrusted ledger', mutate((b) => (b.anchor.ledger = 'eip155:31337:0x' + '33'.repeat(20))), ['INVALID', 'FORMAT_OK', 'SIGNATURE_VALID', 'UNTRUSTED_DEPLOYMENT', S, S, 'WITHIN_VALIDITY']);
  await run('trusted ledger, other registry (10.1 rule 2)', mutate((b) => (b.anchor.registry = 'eip155:31337:0x' + '44'.repeat(20))), ['INVALID', 'FORMAT_OK', 'SIGNATURE_VALID', 'UNTRUSTED_DEPLOYMENT', S, S, 'WITHIN_VALIDITY']);
  await run('not yet valid (validity uses now)', validBytes, ['INVALID', 'FORMAT_OK', 'SIGNATURE_VALID', 'ANCHORED', 'ISSUER_AUTHORISED', 'STATUS_ACTIVE', 'NOT_YET_VALID'], { ...opts, now: parseDateTimeStamp('2026-12-07T13:20:23.999999Z').micros });
  await run('valid exactly at validFrom', validBytes, ['VALID', ...ok], { ...opts, now: parseDateTimeStamp('2026-12-07T21:20:24+08:00').micros });
  // ---- the rules the revision of protocol.md changed or made precise ----
  const TAMPERED = (c1, c2 = 'DIGEST_MISMATCH') => ['INVALID', 'FORMAT_OK', c1, c2, S, S, 'WITHIN_VALIDITY'];
  const claim = (raw) => Buffer.from(text.replace('"name": "何敏 (He)"', `"name": "何敏 (He)", ${raw}`));
  const raw = (a, b) => {
    if (!text.includes(a)) throw new Error(`self-test: ${a} not in the bundle`);
    return Buffer.from(text.replace(a, b));
  };
  // 1.3 rule 8, 7.2 rule 4: integers of any length, -0
  await run('version -0 (the integer 0)', raw('"version": 2', '"version": -0'), formatFail('UNSUPPORTED_VERSION'));
  await run('version -2', raw('"version": 2', '"version": -2'), formatFail('UNSUPPORTED_VERSION'));
  await run('version of 5,000 digits', raw('"version": 2', '"version": 1' + '0'.repeat(4999)), formatFail('UNSUPPORTED_VERSION'));
  await run('version 2e0', raw('"version": 2', '"version": 2e0'), formatFail('BUNDLE_MALFORMED'));
  await run('version -0.0', raw('"version": 2', '"version": -0.0'), formatFail('BUNDLE_MALFORMED'));
  await run('version true', raw('"version": 2', '"version": true'), formatFail('BUNDLE_MALFORMED'));
  await run('version 1 with a 5,000-digit claim (the version first)', Buffer.from(text.replace('"version": 2', '"version": 1').replace('"name": "何敏 (He)"', '"name": "何敏 (He)", "n": 1' + '0'.repeat(4999))), formatFail('UNSUPPORTED_VERSION'));
  await run('blockNumber -0 (block 0)', raw('"blockNumber": 11', '"blockNumber": -0'), ['VALID', ...ok]);
  await run('blockNumber -1', raw('"blockNumber": 11', '"blockNumber": -1'), formatFail('BUNDLE_MALFORMED'));
  await run('blockNumber of 5,000 digits', raw('"blockNumber": 11', '"blockNumber": 1' + '0'.repeat(4999)), formatFail('BUNDLE_MALFORMED'));
  await run('blockNumber 11.0', raw('"blockNumber": 11', '"blockNumber": 11.0'), formatFail('BUNDLE_MALFORMED'));
  // 3.7 rule 3: a claim of 5,000 digits is CREDENTIAL_MALFORMED, never unreadable
  await run('a claim of 5,000 digits', claim('"n": 1' + '0'.repeat(4999)), formatFail('CREDENTIAL_MALFORMED'));
  await run('a claim of 5,000 digits with a fraction', claim('"n": 0.' + '0'.repeat(4999) + '1'), TAMPERED('INVALID_SIGNATURE'));
  await run('a claim 9007199254740991.4 (rounds to 2^53-1)', claim('"n": 9007199254740991.4'), TAMPERED('INVALID_SIGNATURE'));
  await run('a claim 9007199254740991.5 (rounds to 2^53)', claim('"n": 9007199254740991.5'), formatFail('CREDENTIAL_MALFORMED'));
  await run('a claim -0', claim('"n": -0'), TAMPERED('INVALID_SIGNATURE'));
  await run('a claim 1e-400 (0)', claim('"n": 1e-400'), TAMPERED('INVALID_SIGNATURE'));
  await run('a claim 1.5e300', claim('"n": 1.5e300'), formatFail('CREDENTIAL_MALFORMED'));
  // 3.3: the JSON text
  await run('a raw tab in a string', raw('"何敏 (He)"', '"何敏\t(He)"'), formatFail('BUNDLE_MALFORMED'));
  await run('a raw U+007F in a string', raw('"何敏 (He)"', '"何敏\u007f(He)"'), TAMPERED('INVALID_SIGNATURE'));
  await run('a trailing U+00A0 after the JSON value', Buffer.from(text + '\u00a0'), formatFail('BUNDLE_MALFORMED'));
  await run('a trailing U+000B after the JSON value', Buffer.from(text + '\u000b'), formatFail('BUNDLE_MALFORMED'));
  await run('600 brackets inside a string (depth counts structure only)', claim('"s": "' + '['.repeat(600) + '{'.repeat(600) + '\\"' + ']'.repeat(3) + '"'), TAMPERED('INVALID_SIGNATURE'));
  await run('too deep and also invalid JSON', claim('"deep": ' + '['.repeat(600) + '}'), formatFail('BUNDLE_MALFORMED'));
  await run('01 is no number', claim('"n": 01'), formatFail('BUNDLE_MALFORMED'));
  await run('an encoded surrogate in the text', Buffer.concat([Buffer.from(text.slice(0, text.indexOf('何'))), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from(text.slice(text.indexOf('何') + 1))]), formatFail('BUNDLE_MALFORMED'));
  // 1.3 rules 9 and 10: white space and whole-string ASCII patterns
  for (const [label, name, code] of [
    ['U+200B', '\u200b', 'FORMAT_OK'], ['U+0000', '\u0000', 'FORMAT_OK'], ['U+180E', '\u180e', 'FORMAT_OK'],
    ['U+FEFF', '\ufeff', 'FORMAT_OK'], ['U+3000', '\u3000', 'CREDENTIAL_MALFORMED'], ['""', '', 'CREDENTIAL_MALFORMED'],
    ['U+001C', '\u001c', 'CREDENTIAL_MALFORMED'], ['U+0085', '\u0085', 'CREDENTIAL_MALFORMED'], ['U+205F U+202F', '\u205f\u202f', 'CREDENTIAL_MALFORMED'],
  ]) {
    await run(`issuer.name ${label}`, mutate((b) => (b.credential.issuer.name = name)), code === 'FORMAT_OK' ? TAMPERED('INVALID_SIGNATURE') : formatFail(code));
  }
  const setUrl = (u) => mutate((b) => b.credential.credentialStatus.forEach((e) => ((e.statusListCredential = u), (e.id = `${u}#${e.statusListIndex}`))));
  await run('status URL http://x', setUrl('http://x'), TAMPERED('INVALID_SIGNATURE'));
  await run('status URL with U+200B', setUrl('http://x\u200by'), TAMPERED('INVALID_SIGNATURE'));
  await run('status URL with U+3000', setUrl('http://x\u3000y'), formatFail('CREDENTIAL_MALFORMED'));
  await run('status URL with U+001F', setUrl('http://x\u001fy'), formatFail('CREDENTIAL_MALFORMED'));
  await run('status URL http://', setUrl('http://'), formatFail('CREDENTIAL_MALFORMED'));
  await run('status URL HTTP://x', setUrl('HTTP://x'), formatFail('CREDENTIAL_MALFORMED'));
  await run('status URL with #', setUrl('http://x#y'), formatFail('CREDENTIAL_MALFORMED'));
  await run('status URL with a final newline', setUrl('http://x\n'), formatFail('CREDENTIAL_MALFORMED'));
  await run('agency IRI with a final newline', mutate((b) => (b.credential.issuer.agency += '\n')), formatFail('CREDENTIAL_MALFORMED'));
  await run('type name with a final newline', mutate((b) => (b.credential.type[1] += '\n')), formatFail('CREDENTIAL_MALFORMED'));
  await run('id with a final newline', mutate((b) => (b.credential.id += '\n')), formatFail('CREDENTIAL_MALFORMED'));
  await run('validFrom in Arabic-Indic digits', mutate((b) => (b.credential.validFrom = '\u0662\u0660\u0662\u0666-12-07T13:20:24Z')), formatFail('CREDENTIAL_MALFORMED'));
  await run('validFrom with a full-width digit', mutate((b) => (b.credential.validFrom = '2026-12-0\uff17T13:20:24Z')), formatFail('CREDENTIAL_MALFORMED'));
  await run('status index in Arabic-Indic digits', mutate((b) => b.credential.credentialStatus.forEach((e) => ((e.statusListIndex = '\u0661'), delete e.id))), formatFail('CREDENTIAL_MALFORMED'));
  // 3.4: dates, and years 1-9999 after 24:00 and the zone (rule 6)
  const setFrom = (v) => mutate((b) => (b.credential.validFrom = v));
  const setCreated = (v) => mutate((b) => (b.credential.proof.created = v));
  await run('validFrom 9999-12-31T24:00:00Z (year 10000)', setFrom('9999-12-31T24:00:00Z'), formatFail('CREDENTIAL_MALFORMED'));
  await run('validFrom 9999-12-31T23:59:59.9999999Z', setFrom('9999-12-31T23:59:59.9999999Z'), ['INVALID', 'FORMAT_OK', 'INVALID_SIGNATURE', 'DIGEST_MISMATCH', S, S, 'NOT_YET_VALID']);
  await run('validFrom 2026-12-06T24:00:00.000Z', setFrom('2026-12-06T24:00:00.000Z'), TAMPERED('INVALID_SIGNATURE'));
  await run('validFrom 2026-12-06T24:00:00.Z', setFrom('2026-12-06T24:00:00.Z'), formatFail('CREDENTIAL_MALFORMED'));
  await run('validFrom 2026-12-06T24:00:00.001Z', setFrom('2026-12-06T24:00:00.001Z'), formatFail('CREDENTIAL_MALFORMED'));
  await run('validFrom 0001-01-01T00:00:00Z', setFrom('0001-01-01T00:00:00Z'), TAMPERED('INVALID_SIGNATURE'));
  await run('validFrom -2026-12-07T13:20:24Z', setFrom('-2026-12-07T13:20:24Z'), formatFail('CREDENTIAL_MALFORMED'));
  await run('validFrom 12026-12-07T13:20:24Z', setFrom('12026-12-07T13:20:24Z'), formatFail('CREDENTIAL_MALFORMED'));
  await run('validFrom +2026-12-07T13:20:24Z', setFrom('+2026-12-07T13:20:24Z'), formatFail('CREDENTIAL_MALFORMED'));
  await run('validFrom 2026-12-07T13:20:24z', setFrom('2026-12-07T13:20:24z'), formatFail('CREDENTIAL_MALFORMED'));
  await run('created 9999-12-31T24:00:00+01:00 (refused in every zone)', setCreated('9999-12-31T24:00:00+01:00'), formatFail('CREDENTIAL_MALFORMED'));
  await run('created 9999-12-31T23:00:00-01:00 (year 10000 in UTC)', setCreated('9999-12-31T23:00:00-01:00'), formatFail('CREDENTIAL_MALFORMED'));
  await run('created 9999-12-31T22:59:59-01:00', setCreated('9999-12-31T22:59:59-01:00'), TAMPERED('INVALID_SIGNATURE'));
  await run('created 0001-01-01T00:00:00+14:00 (year 0 in UTC)', setCreated('0001-01-01T00:00:00+14:00'), formatFail('CREDENTIAL_MALFORMED'));
  await run('created 0001-01-01T00:59:59+01:00', setCreated('0001-01-01T00:59:59+01:00'), formatFail('CREDENTIAL_MALFORMED'));
  await run('created 0001-01-01T00:00:00-14:00', setCreated('0001-01-01T00:00:00-14:00'), TAMPERED('INVALID_SIGNATURE'));
  await run('created +14:01', setCreated('2026-12-08T03:21:24+14:01'), formatFail('CREDENTIAL_MALFORMED'));
  await run('created without zone', setCreated('2026-12-07T13:20:24'), formatFail('CREDENTIAL_MALFORMED'));
  await run('created missing', mutate((b) => delete b.credential.proof.created), formatFail('CREDENTIAL_MALFORMED'));
  // 3.5: status entries
  const entries = (fn) => mutate((b) => b.credential.credentialStatus.forEach(fn));
  await run('status entries without id', entries((e) => delete e.id), TAMPERED('INVALID_SIGNATURE'));
  await run('one status entry without id', mutate((b) => delete b.credential.credentialStatus[1].id), TAMPERED('INVALID_SIGNATURE'));
  await run('status id null', mutate((b) => (b.credential.credentialStatus[1].id = null)), formatFail('CREDENTIAL_MALFORMED'));
  await run('status index of 15 digits', entries((e) => ((e.statusListIndex = '999999999999999'), (e.id = `${e.statusListCredential}#999999999999999`))), TAMPERED('INVALID_SIGNATURE'));
  await run('status index of 16 digits', entries((e) => ((e.statusListIndex = '1000000000000000'), delete e.id)), formatFail('CREDENTIAL_MALFORMED'));
  await run('status indexes differ', mutate((b) => ((b.credential.credentialStatus[1].statusListIndex = '2'), delete b.credential.credentialStatus[1].id)), formatFail('CREDENTIAL_MALFORMED'));
  await run('three status entries', mutate((b) => b.credential.credentialStatus.push({ type: 'X' })), formatFail('CREDENTIAL_MALFORMED'));
  const statusSize = (lit) => Buffer.from(text.replaceAll('"statusPurpose": "revocation"', `"statusPurpose": "revocation", "statusSize": ${lit}`));
  for (const lit of ['1', '1.0', '1e0', '10e-1', '1.00000000000000000001']) await run(`statusSize ${lit}`, statusSize(lit), TAMPERED('INVALID_SIGNATURE'));
  for (const lit of ['true', '2', '0', '"1"', 'null', 'false', '[1]', '-1', '1.0000001']) await run(`statusSize ${lit}`, statusSize(lit), formatFail('CREDENTIAL_MALFORMED'));
  // 3.8: a typed bundle turned generic (the signature then fails) and generic rules
  const generic = (fn) => mutate((b) => ((b.credential.type[1] = 'GenericCredential'), fn(b.credential)));
  await run('type[1] GenericCredential', generic(() => {}), TAMPERED('INVALID_SIGNATURE'));
  await run('generic: URL id, more contexts and types, two subjects, +08:00, another status object', generic((c) => {
    c.id = 'https://example.org/credentials/1';
    c['@context'].push('https://www.w3.org/ns/credentials/examples/v2', { ex: 'https://example.org/#' });
    c.type.push('ExampleCredential', 'https://example.org/T');
    c.credentialSubject = [c.credentialSubject, { ex: 1 }];
    c.validFrom = '2026-12-07T21:20:24+08:00';
    c.credentialStatus.unshift({ type: ['ExampleStatus'] });
  }), TAMPERED('INVALID_SIGNATURE'));
  await run('generic: a third type repeated', generic((c) => c.type.push('X', 'X')), formatFail('CREDENTIAL_MALFORMED'));
  await run('generic: a context number', generic((c) => c['@context'].push(1)), formatFail('CREDENTIAL_MALFORMED'));
  await run('generic: an empty subject array', generic((c) => (c.credentialSubject = [])), formatFail('CREDENTIAL_MALFORMED'));
  await run('generic: a status object typed ["BitstringStatusListEntry"]', generic((c) => c.credentialStatus.push({ type: ['BitstringStatusListEntry'] })), formatFail('CREDENTIAL_MALFORMED'));
  await run('generic: validFrom 0001-01-01T00:00:00+01:00', generic((c) => (c.validFrom = '0001-01-01T00:00:00+01:00')), formatFail('CREDENTIAL_MALFORMED'));
  await run('generic: the key still a did:key', generic((c) => (c.issuer.id = 'https://example.org/issuer')), formatFail('CREDENTIAL_MALFORMED'));
  await run('typed: three types', mutate((b) => b.credential.type.push('ExampleCredential')), formatFail('CREDENTIAL_MALFORMED'));
  await run('typed: type[1] GenericCredential in third place only', mutate((b) => b.credential.type.push('GenericCredential')), formatFail('CREDENTIAL_MALFORMED'));
  // 4.2 step 7: the proof's @context, equality of JSON values (CONTEXT_MISMATCH or then INVALID_SIGNATURE)
  const proofCtx = (v) => mutate((b) => (b.credential.proof['@context'] = v));
  await run('proof @context null', proofCtx(null), TAMPERED('CONTEXT_MISMATCH'));
  await run('proof @context []', proofCtx([]), TAMPERED('INVALID_SIGNATURE'));
  await run('proof @context a string, a prefix', proofCtx('https://www.w3.org/ns/credentials/v2'), TAMPERED('INVALID_SIGNATURE'));
  await run('proof @context [true]', proofCtx([true]), TAMPERED('CONTEXT_MISMATCH'));
  await run('proof @context an object', proofCtx({}), TAMPERED('CONTEXT_MISMATCH'));
  await run('proof @context 1', proofCtx(1), TAMPERED('CONTEXT_MISMATCH'));
  await run('proof @context longer than the document\'s', proofCtx(['https://www.w3.org/ns/credentials/v2', 'https://www.w3.org/ns/credentials/undefined-terms/v2', 'https://example.org/c']), TAMPERED('CONTEXT_MISMATCH'));
  const ctxGen = (docExtra, proofExtra) => generic((c) => {
    c['@context'].push(docExtra);
    c.proof['@context'] = [...c['@context'].slice(0, 2), proofExtra];
  });
  await run('generic: proof @context {"x": true} where the document has {"x": 1}', ctxGen({ x: 1 }, { x: true }), TAMPERED('CONTEXT_MISMATCH'));
  await run('generic: proof @context {"x": false} where the document has {"x": 0}', ctxGen({ x: 0 }, { x: false }), TAMPERED('CONTEXT_MISMATCH'));
  await run('generic: proof @context {"x": true} where the document has {"x": true}', ctxGen({ x: true }, { x: true }), TAMPERED('INVALID_SIGNATURE'));
  await run('generic: proof @context {"x": 2} where the document has {"x": 1}', ctxGen({ x: 1 }, { x: 2 }), TAMPERED('CONTEXT_MISMATCH'));
  await run('generic: proof @context {"x": "1"} where the document has {"x": 1}', ctxGen({ x: 1 }, { x: '1' }), TAMPERED('CONTEXT_MISMATCH'));
  await run('generic: proof @context {"x": false} where the document has {"x": null}', ctxGen({ x: null }, { x: false }), TAMPERED('CONTEXT_MISMATCH'));

  // fail closed: chain errors
  const deadRpc = new RpcClient('http://127.0.0.1:9/', { timeoutMs: 3000 });
  await run('node unreachable', validBytes, ['ERROR', 'FORMAT_OK', 'SIGNATURE_VALID', 'CHAIN_UNAVAILABLE', S, S, 'WITHIN_VALIDITY'], { ...opts, rpcFor: () => deadRpc });
  const wrongChain = [{ ...opts.trustRoots[0], chainId: chainId + 1n }];
  const otherChainBundle = mutate((b) => ((b.anchor.ledger = b.anchor.ledger.replace('31337', String(chainId + 1n))), (b.anchor.registry = b.anchor.registry.replace('31337', String(chainId + 1n)))));
  await run('node of another chain id (10.1 rule 1)', otherChainBundle, ['ERROR', 'FORMAT_OK', 'SIGNATURE_VALID', 'CHAIN_UNAVAILABLE', S, S, 'WITHIN_VALIDITY'], { ...opts, trustRoots: wrongChain });
  await run('INVALID beats ERROR (10.4)', validBytes, ['INVALID', 'FORMAT_OK', 'SIGNATURE_VALID', 'CHAIN_UNAVAILABLE', S, S, 'NOT_YET_VALID'], { ...opts, rpcFor: () => deadRpc, now: parseDateTimeStamp('2020-01-01T00:00:00Z').micros });
  // strict ABI decoding (6.2 rule 4)
  const throws = (label, fn) => {
    try {
      fn();
      eq(label, 'no error', 'ChainError');
    } catch (e) {
      eq(label, e.constructor.name, 'ChainError');
    }
  };
  throws('abi: empty answer', () => decodeStatic('0x', ['uint64', 'uint64', 'uint32']));
  throws('abi: short answer', () => decodeStatic('0x' + '00'.repeat(64), ['uint64', 'uint64', 'uint32']));
  throws('abi: dirty padding', () => decodeStatic('0x' + '01' + '00'.repeat(95), ['uint64', 'uint64', 'uint32']));
  throws('abi: bool 2', () => decodeStatic('0x' + '00'.repeat(31) + '02', ['bool']));
  // weak keys (4.5)
  const le = (hex) => fromHex(hex);
  eq('weak: identity', weakKeyReason(le('0x01' + '00'.repeat(31))) !== null, true);
  eq('weak: p-1', weakKeyReason(le('0xecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f')) !== null, true);
  eq('weak: Y8a', weakKeyReason(le('0x26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05')) !== null, true);
  eq('weak: Y8b with sign bit', weakKeyReason(le('0xc7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa')) !== null, true);
  eq('weak: y = p (non-canonical)', weakKeyReason(le('0xedffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f')) !== null, true);
  eq('weak: y = 2 is not on the curve', weakKeyReason(le('0x02' + '00'.repeat(31))), 'not a point of the curve');
}

// ---- a broken or dishonest node (6.2 rule 4, 10.1 rule 2, 10.2, 10.3): the stub answers otherwise ----

async function chainCases(validBytes, opts, state, { chainId, valid }) {
  const S = 'SKIPPED';
  const ok = ['FORMAT_OK', 'SIGNATURE_VALID', 'ANCHORED', 'ISSUER_AUTHORISED', 'STATUS_ACTIVE', 'WITHIN_VALIDITY'];
  const sel = (sig) => toHex(selector(sig));
  const word = (n) => BigInt(n).toString(16).padStart(64, '0');
  const str = (hexBytes) => word(hexBytes.length / 2) + hexBytes.padEnd(Math.ceil(hexBytes.length / 64) * 64, '0');
  const agencyInfo = (codeHex, nameHex, active = 1, { off0, off1 } = {}) => {
    const a = str(codeHex);
    return '0x' + word(off0 ?? 0x60) + word(off1 ?? 0x60 + a.length / 2) + word(active) + a + str(nameHex);
  };
  const nameHex = Buffer.from('Some Agency').toString('hex');
  const ANCHOR = 'anchorOf(bytes32,bytes32)', INFO = 'agencyInfo(bytes32)', KEY = 'keyOf(bytes32,bytes32)';
  const PERM = 'isPermitted(bytes32,bytes32)', ROOT = 'rootStatusOf(bytes32,bytes32)', STATUS = 'statusOf(bytes32,bytes32)';
  const run = async (label, replies, expected, { logHas, logLacks } = {}) => {
    // replies: {"eth_chainId" | <view signature>: reply object, or a function of the default result}
    state.log = [];
    state.override = (method, params) => {
      if (method === 'eth_chainId' && replies.eth_chainId) return replies.eth_chainId;
      if (method !== 'eth_call') return undefined;
      for (const [sig, reply] of Object.entries(replies)) {
        if (sig !== 'eth_chainId' && params[0].data.startsWith(sel(sig))) return reply;
      }
      return undefined;
    };
    let r;
    try {
      r = await verifyBundle(validBytes, opts);
    } finally {
      state.override = null;
    }
    eq(`node: ${label}`, [r.verdict, ...r.checks.map((c) => c.code)], expected);
    for (const sig of logHas || []) eq(`node: ${label}: reads ${sig}`, state.log.includes(`eth_call:${sel(sig)}`), true);
    for (const sig of logLacks || []) eq(`node: ${label}: does not read ${sig}`, state.log.includes(`eth_call:${sel(sig)}`), false);
    return r;
  };
  const res = (result) => ({ result });
  const rpcError = { error: { code: 3, message: 'execution reverted' } };
  const CU_ANCHOR = ['ERROR', 'FORMAT_OK', 'SIGNATURE_VALID', 'CHAIN_UNAVAILABLE', S, S, 'WITHIN_VALIDITY'];
  const CU_ISSUER = ['ERROR', 'FORMAT_OK', 'SIGNATURE_VALID', 'ANCHORED', 'CHAIN_UNAVAILABLE', 'STATUS_ACTIVE', 'WITHIN_VALIDITY'];
  const CU_STATUS = ['ERROR', 'FORMAT_OK', 'SIGNATURE_VALID', 'ANCHORED', 'ISSUER_AUTHORISED', 'CHAIN_UNAVAILABLE', 'WITHIN_VALIDITY'];
  const anchorRes = valid.anchorOf.result;

  // 10.1 rule 2: the chain id
  await run('eth_chainId of another chain', { eth_chainId: res('0x1') }, CU_ANCHOR, { logLacks: [ANCHOR] });
  await run('eth_chainId an error', { eth_chainId: rpcError }, CU_ANCHOR);
  await run('eth_chainId not a quantity', { eth_chainId: res('0x') }, CU_ANCHOR);
  await run('eth_chainId as a number', { eth_chainId: res(Number(chainId)) }, CU_ANCHOR);
  let n = 0;
  state.log = [];
  state.override = (method) => (method === 'eth_chainId' && ++n >= 2 ? res('0x1') : undefined);
  {
    // eth_chainId is asked before every read: a node that changes chain after the first read is caught
    const r = await verifyBundle(validBytes, opts);
    state.override = null;
    eq('node: another chain id from the second read on: issuer and status fail closed', [r.verdict, ...r.checks.map((c) => c.code)],
      ['ERROR', 'FORMAT_OK', 'SIGNATURE_VALID', 'ANCHORED', 'CHAIN_UNAVAILABLE', 'CHAIN_UNAVAILABLE', 'WITHIN_VALIDITY']);
  }
  // 6.2 rule 4.1: the hex text
  await run('anchorOf in upper-case hex digits', { [ANCHOR]: res('0x' + anchorRes.slice(2).toUpperCase()) }, ['VALID', ...ok]);
  await run('anchorOf without 0x (refused here: fail closed)', { [ANCHOR]: res(anchorRes.slice(2)) }, CU_ANCHOR);
  await run('anchorOf with an odd number of digits (refused here)', { [ANCHOR]: res('0x' + anchorRes.slice(3)) }, CU_ANCHOR);
  await run('anchorOf not hex', { [ANCHOR]: res('0x' + 'zz'.repeat(96)) }, CU_ANCHOR);
  // 6.2 rule 4: an answer that cannot be decoded, a null result included, is CHAIN_UNAVAILABLE
  await run('anchorOf result null (6.2 rule 4)', { [ANCHOR]: res(null) }, CU_ANCHOR);
  await run('agencyInfo result null', { [INFO]: res(null) }, CU_ISSUER, { logLacks: [KEY] });
  await run('keyOf result null', { [KEY]: res(null) }, CU_ISSUER, { logLacks: [PERM] });
  await run('isPermitted result null', { [PERM]: res(null) }, CU_ISSUER);
  await run('rootStatusOf result null', { [ROOT]: res(null) }, CU_STATUS, { logLacks: [STATUS] });
  await run('statusOf result null', { [STATUS]: res(null) }, CU_STATUS);
  await run('anchorOf result missing (no result, no error)', { [ANCHOR]: {} }, CU_ANCHOR);
  await run('anchorOf result a number', { [ANCHOR]: res(1) }, CU_ANCHOR);
  await run('anchorOf a revert', { [ANCHOR]: rpcError }, CU_ANCHOR);
  // 6.2 rule 4.2: static tuples
  await run('anchorOf empty (no contract)', { [ANCHOR]: res('0x') }, CU_ANCHOR);
  await run('anchorOf 64 bytes', { [ANCHOR]: res(anchorRes.slice(0, 2 + 128)) }, CU_ANCHOR);
  await run('anchorOf with 32 bytes more (refused here)', { [ANCHOR]: res(anchorRes + word(0)) }, CU_ANCHOR);
  await run('anchorOf uint64 with a high byte', { [ANCHOR]: res('0x01' + anchorRes.slice(4)) }, CU_ANCHOR);
  await run('anchorOf blockNumber 0, timestamp and count not', { [ANCHOR]: res('0x' + word(1796649624) + word(0) + word(6)) },
    ['INVALID', 'FORMAT_OK', 'SIGNATURE_VALID', 'ROOT_NOT_ANCHORED', S, S, 'WITHIN_VALIDITY']);
  await run('anchorOf timestamp 0, block 1: t = 0, the key is not yet valid', { [ANCHOR]: res('0x' + word(0) + word(1) + word(0)) },
    ['INVALID', 'FORMAT_OK', 'SIGNATURE_VALID', 'ANCHORED', 'KEY_NOT_YET_VALID', 'STATUS_ACTIVE', 'WITHIN_VALIDITY']);
  await run('isPermitted bool 2', { [PERM]: res('0x' + word(2)) }, CU_ISSUER);
  await run('isPermitted false', { [PERM]: res('0x' + word(0)) },
    ['INVALID', 'FORMAT_OK', 'SIGNATURE_VALID', 'ANCHORED', 'TYPE_NOT_PERMITTED', 'STATUS_ACTIVE', 'WITHIN_VALIDITY']);
  await run('keyOf 65 bytes (refused here)', { [KEY]: res(valid.keyOf.result + '00') }, CU_ISSUER);
  await run('statusOf state 256 (a uint8 with a high byte)', { [STATUS]: res('0x' + word(256) + word(0) + word(0)) }, CU_STATUS);
  await run('statusOf state 3', { [STATUS]: res('0x' + word(3) + word(0) + word(0)) },
    ['INVALID', 'FORMAT_OK', 'SIGNATURE_VALID', 'ANCHORED', 'ISSUER_AUTHORISED', 'UNKNOWN_STATE', 'WITHIN_VALIDITY']);
  await run('rootStatusOf state 1', { [ROOT]: res('0x' + word(1) + word(5) + word(7)) },
    ['INVALID', 'FORMAT_OK', 'SIGNATURE_VALID', 'ANCHORED', 'ISSUER_AUTHORISED', 'BATCH_SUSPENDED', 'WITHIN_VALIDITY']);
  await run('rootStatusOf state 2 and statusOf state 1: the batch first', { [ROOT]: res('0x' + word(2) + word(1) + word(7)), [STATUS]: res('0x' + word(1) + word(1) + word(7)) },
    ['INVALID', 'FORMAT_OK', 'SIGNATURE_VALID', 'ANCHORED', 'ISSUER_AUTHORISED', 'BATCH_REVOKED', 'WITHIN_VALIDITY']);
  await run('statusOf reason 200 and since far ahead (shown, never judged)', { [STATUS]: res('0x' + word(2) + word(200) + word(2n ** 64n - 1n)) },
    ['INVALID', 'FORMAT_OK', 'SIGNATURE_VALID', 'ANCHORED', 'ISSUER_AUTHORISED', 'REVOKED', 'WITHIN_VALIDITY']);
  // 6.2 rule 4.3: agencyInfo
  const code = Buffer.from('demo-zj-university').toString('hex');
  await run('agencyInfo canonical, rebuilt', { [INFO]: res(agencyInfo(code, nameHex)) }, ['VALID', ...ok]);
  await run('agencyInfo code "" (not registered)', { [INFO]: res(agencyInfo('', '')) },
    ['INVALID', 'FORMAT_OK', 'SIGNATURE_VALID', 'ANCHORED', 'AGENCY_NOT_REGISTERED', 'STATUS_ACTIVE', 'WITHIN_VALIDITY'], { logLacks: [KEY, PERM] });
  await run('agencyInfo another code (not compared, 10.3 check 4)', { [INFO]: res(agencyInfo(Buffer.from('someone-else').toString('hex'), nameHex)) }, ['VALID', ...ok]);
  await run('agencyInfo code U+FEFF (a well-formed, non-empty string)', { [INFO]: res(agencyInfo('efbbbf', nameHex)) }, ['VALID', ...ok]);
  await run('agencyInfo code U+0000', { [INFO]: res(agencyInfo('00', nameHex)) }, ['VALID', ...ok]);
  await run('agencyInfo inactive (not considered)', { [INFO]: res(agencyInfo(code, nameHex, 0)) }, ['VALID', ...ok]);
  await run('agencyInfo active 2', { [INFO]: res(agencyInfo(code, nameHex, 2)) }, CU_ISSUER);
  await run('agencyInfo code not UTF-8', { [INFO]: res(agencyInfo('ff', nameHex)) }, CU_ISSUER, { logLacks: [KEY] });
  await run('agencyInfo name overlong UTF-8', { [INFO]: res(agencyInfo(code, 'c080')) }, CU_ISSUER);
  await run('agencyInfo name an encoded surrogate', { [INFO]: res(agencyInfo(code, 'eda080')) }, CU_ISSUER);
  await run('agencyInfo non-zero padding', { [INFO]: res(agencyInfo(code, nameHex).slice(0, -2) + '01') }, CU_ISSUER);
  await run('agencyInfo offset inside the head', { [INFO]: res(agencyInfo(code, nameHex, 1, { off0: 0x40 })) }, CU_ISSUER);
  await run('agencyInfo offset past the end', { [INFO]: res(agencyInfo(code, nameHex, 1, { off1: 0x1000 })) }, CU_ISSUER);
  await run('agencyInfo length past the end', { [INFO]: res('0x' + word(0x60) + word(0xa0) + word(1) + word(2n ** 63n)) }, CU_ISSUER);
  await run('agencyInfo length 2^63 - 31 (a length word too large to read)', { [INFO]: res('0x' + word(0x60) + word(0xa0) + word(1) + word(2n ** 63n - 31n)) }, CU_ISSUER);
  await run('agencyInfo length 2^256 - 1', { [INFO]: res('0x' + word(0x60) + word(0xa0) + word(1) + word(2n ** 256n - 1n)) }, CU_ISSUER);
  await run('agencyInfo offset 2^256 - 1', { [INFO]: res(agencyInfo(code, nameHex, 1, { off1: 2n ** 256n - 1n })) }, CU_ISSUER);
  await run('agencyInfo bytes after the strings (refused here)', { [INFO]: res(agencyInfo(code, nameHex) + word(0)) }, CU_ISSUER);
  await run('agencyInfo name before code (refused here)', { [INFO]: res('0x' + word(0xa0) + word(0x60) + word(1) + str(nameHex) + str(code)) }, CU_ISSUER);
  await run('agencyInfo 95 bytes', { [INFO]: res('0x' + word(0x60) + word(0xa0) + word(1).slice(2)) }, CU_ISSUER);
  // 10.2: reads inside a check
  await run('agencyInfo fails: nothing more is read', { [INFO]: rpcError }, CU_ISSUER, { logLacks: [KEY, PERM] });
  await run('keyOf fails: isPermitted is not read', { [KEY]: rpcError }, CU_ISSUER, { logLacks: [PERM] });
  await run('keyOf unregistered, isPermitted fails: the key is not judged', { [KEY]: res('0x' + word(0) + word(0)), [PERM]: rpcError }, CU_ISSUER);
  await run('keyOf revoked, isPermitted empty: ERROR', { [KEY]: res('0x' + word(1) + word(2)), [PERM]: res('0x') }, CU_ISSUER);
  await run('rootStatusOf revoked, statusOf fails: ERROR, not BATCH_REVOKED', { [ROOT]: res('0x' + word(2) + word(0) + word(1)), [STATUS]: rpcError }, CU_STATUS);
  await run('rootStatusOf fails: statusOf is not read', { [ROOT]: rpcError }, CU_STATUS, { logLacks: [STATUS] });
  await run('statusOf fails, the key revoked: INVALID beats ERROR (10.4)', { [KEY]: res('0x' + word(1) + word(2)), [STATUS]: rpcError },
    ['INVALID', 'FORMAT_OK', 'SIGNATURE_VALID', 'ANCHORED', 'KEY_REVOKED', 'CHAIN_UNAVAILABLE', 'WITHIN_VALIDITY']);
  // 10.6: chain times after 9999-12-31T23:59:59Z are written "<t> s after 1970-01-01T00:00:00Z"
  const anchorAt = (t) => res('0x' + word(t) + anchorRes.slice(2 + 64));
  let r10k = await run('anchorOf timestamp 253402300800 (year 10000): judged like any other', { [ANCHOR]: anchorAt(253402300800n) }, ['VALID', ...ok]);
  eq('node: anchoredAt of a year-10000 anchor (10.6)', r10k.credential.anchoredAt, '253402300800 s after 1970-01-01T00:00:00Z');
  r10k = await run('anchorOf timestamp 253402300799', { [ANCHOR]: anchorAt(253402300799n) }, ['VALID', ...ok]);
  eq('node: anchoredAt of the last second of year 9999', r10k.credential.anchoredAt, '9999-12-31T23:59:59Z');
  r10k = await run('anchorOf timestamp 2^64 - 1', { [ANCHOR]: anchorAt(2n ** 64n - 1n) }, ['VALID', ...ok]);
  eq('node: anchoredAt of the largest uint64', r10k.credential.anchoredAt, '18446744073709551615 s after 1970-01-01T00:00:00Z');
  r10k = await run('keyOf validFrom 253402300800: KEY_NOT_YET_VALID', { [KEY]: res('0x' + word(253402300800n) + word(0)) },
    ['INVALID', 'FORMAT_OK', 'SIGNATURE_VALID', 'ANCHORED', 'KEY_NOT_YET_VALID', 'STATUS_ACTIVE', 'WITHIN_VALIDITY']);
  eq('node: a key validFrom after 9999 in the message', r10k.checks[3].detail, 'valid from 253402300800 s after 1970-01-01T00:00:00Z');
  r10k = await run('keyOf revokedAt 253402300800, anchored after it', { [ANCHOR]: anchorAt(253402300801n), [KEY]: res('0x' + word(1) + word(253402300800n)) },
    ['INVALID', 'FORMAT_OK', 'SIGNATURE_VALID', 'ANCHORED', 'KEY_REVOKED', 'STATUS_ACTIVE', 'WITHIN_VALIDITY']);
  eq('node: a key revokedAt after 9999 in the message', r10k.checks[3].detail, 'revoked as of 253402300800 s after 1970-01-01T00:00:00Z');
  r10k = await run('statusOf revoked since 253402300800', { [STATUS]: res('0x' + word(2) + word(1) + word(253402300800n)) },
    ['INVALID', 'FORMAT_OK', 'SIGNATURE_VALID', 'ANCHORED', 'ISSUER_AUTHORISED', 'REVOKED', 'WITHIN_VALIDITY']);
  eq('node: a status since after 9999 in the message', r10k.checks[4].detail, 'state 2, reason 1, since 253402300800 s after 1970-01-01T00:00:00Z');
  // 10.6: the on-chain name is given once agencyInfo was read, even when a later read failed
  const r = await run('keyOf fails after agencyInfo', { [KEY]: rpcError }, CU_ISSUER);
  eq('node: keyOf fails after agencyInfo: the report names the agency', r.credential.issuer.agency.name, '浙江示范大学 Zhejiang Demo University');
  const r2 = await run('agencyInfo fails: no name', { [INFO]: rpcError }, CU_ISSUER);
  eq('node: agencyInfo fails: agency.name null', r2.credential.issuer.agency.name, null);
}
