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

import { parseStrict } from './lib/json.mjs';
import { jcsBytes } from './lib/jcs.mjs';
import { keccak256, sha256, utf8, toHex, fromHex, concat, decodeMultibaseZ } from './lib/codec.mjs';
import { parseBundle, checkCredential } from './lib/format.mjs';
import { verifyProof, verifyBundle, leafOf, parentOf, foldPath } from './lib/verify.mjs';
import { weakKeyReason } from './lib/ed25519.mjs';
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

function startStub(chainId, answers) {
  // answers: Map("<to lower>|<data lower>" -> result)
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const msg = JSON.parse(body);
      let reply;
      if (msg.method === 'eth_chainId') reply = { result: '0x' + chainId.toString(16) };
      else if (msg.method === 'eth_call') {
        const key = `${msg.params[0].to.toLowerCase()}|${msg.params[0].data.toLowerCase()}`;
        reply = answers.has(key)
          ? { result: answers.get(key) }
          : { error: { code: -32000, message: `stub has no answer for ${key}` } };
      } else reply = { error: { code: -32601, message: 'method not found' } };
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

  // ---- full verification against the recorded chain (a local JSON-RPC stub) --------------------
  const chainId = BigInt(C.chainId);
  const trustRoots = [{ chainId, ledger: C.ledger.toLowerCase(), registry: C.registry.toLowerCase() }];
  const server = await startStub(chainId, answers);
  const url = `http://127.0.0.1:${server.address().port}/`;
  const rpc = new RpcClient(url);
  const now = parseDateTimeStamp('2027-01-01T00:00:00Z').micros;
  const opts = { trustRoots, rpcFor: () => rpc, now };
  const codes = (r) => r.checks.map((c) => `${c.name}:${c.status}:${c.code}`);
  try {
    for (const name of ['valid', 'revoked', 'suspended']) {
      const r = await verifyBundle(bundles[name].bytes, opts);
      const exp = C.reports[name];
      eq(`chain.reports.${name}.verdict`, r.verdict, exp.verdict);
      eq(`chain.reports.${name}.checks`, codes(r), exp.checks.map((c) => `${c.name}:${c.status}:${c.code}`));
    }
    await negativeCases(bundles.valid.bytes, opts, { chainId });
  } finally {
    server.close();
  }

  process.stdout.write(`self-test: ${passed} passed, ${failed} failed\n`);
  return failed ? 1 : 0;
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
