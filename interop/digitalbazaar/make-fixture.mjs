#!/usr/bin/env node
// Writes a small fixture in the layout of `certledger demo --out DIR`, made with the Digital
// Bazaar stack alone: CertLedger v2-shaped credentials (/work/notes/v2-decisions.md: issuer
// object with did:key id, name and agency IRI; two BitstringStatusListEntry entries; eddsa-jcs-2022
// proof whose verificationMethod is <did>#<multibase>) and their two status-list credentials.
//
//   node interop/digitalbazaar/make-fixture.mjs --out DIR [--base-url URL]
//
// DIR/summary.json            {"bundles": [{"file", "expected"}], "statusLists": {"baseUrl", "dir"}, ...}
// DIR/bundles/<code>-NNNNN.json  {"type": "CertLedgerBundle", "version": 2, "credential": {...}, "anchor": null}
// DIR/status/<code>/1/revocation, DIR/status/<code>/1/suspension   (the URLs <baseUrl>/<code>/1/<purpose>)
//
// Five credentials with status-list indexes chosen to catch a wrong bit order or list length:
// the revoked one is the last index of the list (131071: byte 16383, mask 0x01), the suspended
// one is index 8 (byte 1, mask 0x80); valid ones sit at 0, at 15 (where an LSB-first reading of
// the suspended bit would land) and at 131064 (where an LSB-first reading of the revoked bit
// would land). The secret key lives only in this process; nothing secret is written or printed.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as vc from '@digitalbazaar/vc';
import {createList, createCredential} from '@digitalbazaar/vc-bitstring-status-list';
import {createSignCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';

import {
  UNDEFINED_TERMS_V2_CONTEXT, VC_V2_CONTEXT, forbidNetwork, makeOfflineLoader
} from './loader.mjs';
import {packageVersions} from './versions.mjs';

const LIST_SIZE = 131072;
const AGENCY_CODE = 'dbz-fixture-university';
const AGENCY_NAME = '浙江示范大学 Zhejiang Demo University (Digital Bazaar fixture)';
const LIST_ID = 1;
const CONTEXT = [VC_V2_CONTEXT, UNDEFINED_TERMS_V2_CONTEXT];

// [statusListIndex, expected verdict]
const PLAN = [
  [0, 'VALID'],
  [8, 'SUSPENDED'],
  [15, 'VALID'],
  [131064, 'VALID'],
  [131071, 'REVOKED'],
];

const SUBJECTS = [
  {name: '王芳 (Wang)', degree: '工学学士 Bachelor of Engineering',
    major: '计算机科学与技术 Computer Science and Technology'},
  {name: '李子涵 (Li)', degree: '法学学士 Bachelor of Laws', major: '法学 Law'},
  // a CJK Extension B character (outside the BMP: a UTF-16 surrogate pair) and characters RFC 8785
  // escapes (quote, backslash, a control character) or leaves as they are (U+2028)
  {name: '𠮷野欣怡 (Ji)', degree: '文学学士 Bachelor of Arts',
    major: '汉语言文学 "Chinese Language and Literature" \\ 中文\t系\u2028'},
  {name: '陈浩然 (Chen)', degree: '医学学士 Bachelor of Medicine', major: '临床医学 Clinical Medicine'},
  {name: '周梓萱 (Zhou)', degree: '工学硕士 Master of Engineering', major: '土木工程 Civil Engineering'},
];

function usage(message) {
  if(message) {
    process.stderr.write(`make-fixture: ${message}\n`);
  }
  process.stderr.write('usage: node make-fixture.mjs --out DIR [--base-url URL]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const args = {baseUrl: 'http://127.0.0.1:8000/status'};
  for(let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if(a === '--out' && i + 1 < argv.length) {
      args.out = argv[++i];
    } else if(a === '--base-url' && i + 1 < argv.length) {
      args.baseUrl = argv[++i].replace(/\/+$/, '');
    } else {
      usage(`unknown argument ${a}`);
    }
  }
  if(!args.out) {
    usage('--out is required');
  }
  return args;
}

// A PRC resident ID number with its ISO 7064 MOD 11-2 check character.
function idNumber(body17) {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body17].reduce((s, d, i) => s + Number(d) * weights[i], 0);
  return body17 + '10X98765432'[sum % 11];
}

function xsdSeconds(date) {
  return date.toISOString().slice(0, 19) + 'Z';
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  forbidNetwork();
  const out = path.resolve(args.out);
  if(fs.existsSync(out) && fs.readdirSync(out).length > 0) {
    usage(`${out} exists and is not empty`);
  }
  const documentLoader = makeOfflineLoader();

  // One Ed25519 key, named by its did:key; the verification method is <did>#<multibase>.
  const seed = crypto.randomBytes(32);
  const {publicKeyMultibase} = await Ed25519Multikey.generate({seed});
  const did = `did:key:${publicKeyMultibase}`;
  const keyPair = await Ed25519Multikey.generate({seed, controller: did});
  seed.fill(0);
  if(keyPair.id !== `${did}#${publicKeyMultibase}`) {
    throw new Error(`unexpected verification method id ${keyPair.id}`);
  }
  const issuer = {id: did, name: AGENCY_NAME, agency: `urn:certledger:agency:${AGENCY_CODE}`};

  const sign = credential => vc.issue({
    credential,
    suite: new DataIntegrityProof({
      signer: keyPair.signer(), cryptosuite: createSignCryptosuite()
    }),
    documentLoader
  });

  const now = new Date();
  const validFrom = xsdSeconds(new Date(now.getTime() - 60 * 1000));
  const listUrl = purpose => `${args.baseUrl}/${AGENCY_CODE}/${LIST_ID}/${purpose}`;

  fs.mkdirSync(path.join(out, 'bundles'), {recursive: true});
  const bundles = [];
  const lists = {revocation: await createList({length: LIST_SIZE}),
    suspension: await createList({length: LIST_SIZE})};
  for(const [n, [index, expected]] of PLAN.entries()) {
    const s = SUBJECTS[n];
    const credential = {
      '@context': [...CONTEXT],
      id: `urn:uuid:${crypto.randomUUID()}`,
      type: ['VerifiableCredential', 'DegreeCertificate'],
      issuer: {...issuer},
      validFrom,
      credentialSubject: {
        name: s.name,
        idNumber: idNumber(`330106${1996 + n}0${n + 1}1${n}${String(n * 37).padStart(3, '0')}`),
        degree: s.degree,
        major: s.major,
        institution: '浙江示范大学',
        graduationDate: `202${n}-06-28`,
        certificateNumber: `10335-202${n}-${String(n + 1).padStart(6, '0')}`
      },
      credentialStatus: ['revocation', 'suspension'].map(purpose => ({
        id: `${listUrl(purpose)}#${index}`,
        type: 'BitstringStatusListEntry',
        statusPurpose: purpose,
        statusListIndex: String(index),
        statusListCredential: listUrl(purpose)
      }))
    };
    const signed = await sign(credential);
    const file = `bundles/${AGENCY_CODE}-${String(n + 1).padStart(5, '0')}.json`;
    const bundle = {type: 'CertLedgerBundle', version: 2, credential: signed, anchor: null};
    fs.writeFileSync(path.join(out, file), JSON.stringify(bundle, null, 2) + '\n');
    bundles.push({file, expected});
    if(expected === 'REVOKED') {
      lists.revocation.setStatus(index, true);
    } else if(expected === 'SUSPENDED') {
      lists.suspension.setStatus(index, true);
    }
  }

  // The two status-list credentials, shaped as v2-decisions.md says. The package's
  // createCredential accepts only its own @context ([VC v2]) and writes no issuer or validity, so
  // its output is completed here before signing.
  for(const [purpose, list] of Object.entries(lists)) {
    const id = listUrl(purpose);
    const made = await createCredential({id, list, statusPurpose: purpose});
    const credential = {
      '@context': [...CONTEXT],
      id,
      type: made.type,
      issuer: {...issuer},
      validFrom: xsdSeconds(now),
      validUntil: xsdSeconds(new Date(now.getTime() + 24 * 3600 * 1000)),
      credentialSubject: {
        id: made.credentialSubject.id,
        type: made.credentialSubject.type,
        statusPurpose: purpose,
        encodedList: made.credentialSubject.encodedList,
        ttl: 60000
      }
    };
    const signed = await sign(credential);
    const file = path.join(out, 'status', AGENCY_CODE, String(LIST_ID), purpose);
    fs.mkdirSync(path.dirname(file), {recursive: true});
    fs.writeFileSync(file, JSON.stringify(signed, null, 2) + '\n');
  }

  const summary = {
    generator: 'interop/digitalbazaar/make-fixture.mjs',
    issuer: did,
    packages: packageVersions(),
    statusLists: {baseUrl: args.baseUrl, dir: 'status'},
    bundles
  };
  fs.writeFileSync(path.join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  if(documentLoader.refused.length > 0) {
    throw new Error(`refused while signing: ${documentLoader.refused.join('; ')}`);
  }
  process.stdout.write(JSON.stringify({out, issuer: did, bundles: bundles.length}) + '\n');
}

main().catch(e => {
  process.stderr.write(`make-fixture: ${e.stack || e}\n`);
  process.exit(1);
});
