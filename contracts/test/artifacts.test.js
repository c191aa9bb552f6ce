// ledger/artifacts/*.json (what the Python side deploys and calls) must match a fresh compile.
const { expect } = require("chai");
const fs = require("fs");
const path = require("path");
const { CONTRACTS, OUT_DIR, exportedArtifact } = require("../../scripts/export-artifacts");

const FIX = "run `npx hardhat run scripts/export-artifacts.js` and commit ledger/artifacts";

describe("Exported artifacts (ledger/artifacts)", function () {
  for (const name of CONTRACTS) {
    it(`${name}.json matches the freshly compiled contract`, async function () {
      const file = path.join(OUT_DIR, `${name}.json`);
      expect(fs.existsSync(file), `${path.relative(process.cwd(), file)} is missing: ${FIX}`).to.equal(true);
      const exported = JSON.parse(fs.readFileSync(file, "utf8"));
      const fresh = await exportedArtifact(name);
      for (const field of ["contractName", "abi", "bytecode", "deployedBytecode", "solcVersion"]) {
        // Compared as JSON text so that a failure prints the fix, not two 20 kB hex strings.
        const same = JSON.stringify(exported[field]) === JSON.stringify(fresh[field]);
        expect(same, `ledger/artifacts/${name}.json: "${field}" is stale: ${FIX}`).to.equal(true);
      }
    });
  }
});
