// The installed versions of the harness's direct dependencies (as package.json pins them), and
// of the packages underneath that decide the results (JSON-LD signatures, JCS, the contexts).
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const UNDERNEATH = ['jsonld-signatures', 'canonicalize', '@digitalbazaar/bitstring'];

export function packageVersions() {
  const own = JSON.parse(fs.readFileSync(path.join(here, 'package.json'), 'utf8'));
  const names = [...Object.keys(own.dependencies), ...UNDERNEATH];
  const versions = {};
  for(const name of names) {
    try {
      const file = path.join(here, 'node_modules', ...name.split('/'), 'package.json');
      versions[name] = JSON.parse(fs.readFileSync(file, 'utf8')).version;
    } catch{
      versions[name] = null;
    }
  }
  return versions;
}
