// The offline JSON-LD document loader of the Digital Bazaar cross-check, and the pieces of the
// Digital Bazaar stack that check.mjs and make-fixture.mjs share.
//
// The loader answers exactly three kinds of URL and throws for every other one:
//   1. the JSON-LD contexts shipped in @digitalbazaar/credentials-context (VC v1, VC v2 and
//      https://www.w3.org/ns/credentials/undefined-terms/v2);
//   2. did:key URLs (a DID or one of its verification methods), resolved locally by
//      @digitalbazaar/did-method-key with the Ed25519 Multikey driver only;
//   3. status-list credentials under the configured base URL, read from a local directory that
//      mirrors their URLs: <baseUrl>/<rest> is the file <dir>/<rest> (no extension).
// Every refusal is recorded (loader.refused) so that the caller can report it: a refusal deep
// inside jsonld or jsonld-signatures may otherwise surface as a vague error, or not at all.
// (jsonld-signatures also serves a few security contexts of its own, bundled in that package,
// before it calls this loader; those never touch the network either.)
import fs from 'node:fs';
import path from 'node:path';

import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {contexts as credentialsContexts} from '@digitalbazaar/credentials-context';
import {driver as didKeyDriver} from '@digitalbazaar/did-method-key';

export const VC_V2_CONTEXT = 'https://www.w3.org/ns/credentials/v2';
export const UNDEFINED_TERMS_V2_CONTEXT =
  'https://www.w3.org/ns/credentials/undefined-terms/v2';
export const UNDEFINED_TERM_PREFIX =
  'https://www.w3.org/ns/credentials/undefined-term#';

// Both contexts a CertLedger v2 credential names must come from the package, not from a copy.
for(const url of [VC_V2_CONTEXT, UNDEFINED_TERMS_V2_CONTEXT]) {
  if(!credentialsContexts.has(url)) {
    throw new Error(
      `@digitalbazaar/credentials-context does not ship ${url}; ` +
      'see interop/digitalbazaar/README.md (a local copy would be needed)');
  }
}

// did:key resolution: only Ed25519 keys (multibase header z6Mk), as Multikey.
const didKeys = didKeyDriver();
didKeys.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});

export class OfflineLoaderError extends Error {}

/**
 * @param {object} [options]
 * @param {string} [options.statusBaseUrl] - e.g. http://127.0.0.1:8000/status
 * @param {string} [options.statusDir] - the directory mirroring statusBaseUrl
 * @returns {Function & {refused: string[]}} a jsonld document loader
 */
export function makeOfflineLoader({statusBaseUrl, statusDir} = {}) {
  const base = statusBaseUrl ? statusBaseUrl.replace(/\/+$/, '') + '/' : null;
  const root = statusDir ? path.resolve(statusDir) : null;
  const files = new Map(); // status-list file -> parsed JSON (read once)

  async function documentLoader(url) {
    if(typeof url !== 'string') {
      return refuse(String(url), 'not a string');
    }
    const context = credentialsContexts.get(url);
    if(context !== undefined) {
      // a copy: jsonld must never be able to alter the package's context object
      return {contextUrl: null, documentUrl: url, document: structuredClone(context)};
    }
    if(url.startsWith('did:key:')) {
      let document;
      try {
        document = await didKeys.get({url});
      } catch(e) {
        return refuse(url, `did:key resolution failed: ${e.message}`);
      }
      return {contextUrl: null, documentUrl: url, document};
    }
    if(base && url.startsWith(base)) {
      const rest = url.slice(base.length);
      // a plain relative path: no query, fragment, empty, dot or dot-dot segment
      if(!rest || /[?#\\]/.test(rest) ||
        rest.split('/').some(s => s === '' || s === '.' || s === '..')) {
        return refuse(url, 'not a plain path under the status base URL');
      }
      let file;
      try {
        file = path.join(root, ...rest.split('/').map(decodeURIComponent));
      } catch(e) {
        return refuse(url, `bad percent-encoding (${e.message})`);
      }
      if(!file.startsWith(root + path.sep)) {
        return refuse(url, 'escapes the status-list directory');
      }
      let document = files.get(file);
      if(document === undefined) {
        let text;
        try {
          text = fs.readFileSync(file, 'utf8');
        } catch(e) {
          return refuse(url, `no status-list file ${file} (${e.code || e.message})`);
        }
        try {
          document = JSON.parse(text);
        } catch(e) {
          return refuse(url, `status-list file ${file} is not JSON: ${e.message}`);
        }
        files.set(file, document);
      }
      return {contextUrl: null, documentUrl: url, document: structuredClone(document)};
    }
    return refuse(url, 'not a bundled context, a did:key, or a status list under ' +
      (base ? base : '(no status base URL)'));
  }

  function refuse(url, why) {
    const message = `offline document loader refused ${url}: ${why}`;
    documentLoader.refused.push(message);
    throw new OfflineLoaderError(message);
  }

  documentLoader.refused = [];
  return documentLoader;
}

// No code path of the harness may reach the network: fetch is replaced by a function that throws
// (the loader above never calls it; this catches a library that would).
export function forbidNetwork() {
  const refused = [];
  globalThis.fetch = async input => {
    const url = typeof input === 'string' ? input : input?.url ?? String(input);
    refused.push(url);
    throw new OfflineLoaderError(`network access refused: fetch(${url})`);
  };
  return refused;
}
