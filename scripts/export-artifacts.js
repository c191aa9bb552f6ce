// Exports the compiled contracts for the Python side (ledger.chain):
//   ledger/artifacts/<Name>.json = {contractName, abi, bytecode, deployedBytecode, solcVersion}
// Run with: npx hardhat run scripts/export-artifacts.js
// contracts/test/artifacts.test.js fails when these files drift from a fresh compile.
const fs = require("fs");
const path = require("path");
const hre = require("hardhat");

const CONTRACTS = ["CertRegistry", "CertLedger"];
const OUT_DIR = path.join(hre.config.paths.root, "ledger", "artifacts");

/** The exported document, keys in a fixed order so that the files diff cleanly. */
async function exportedArtifact(name) {
  const artifact = await hre.artifacts.readArtifact(name);
  const buildInfo = await hre.artifacts.getBuildInfo(`${artifact.sourceName}:${artifact.contractName}`);
  if (!buildInfo) throw new Error(`no build info for ${name}; compile first`);
  return {
    contractName: artifact.contractName,
    abi: artifact.abi,
    bytecode: artifact.bytecode,
    deployedBytecode: artifact.deployedBytecode,
    solcVersion: buildInfo.solcVersion,
  };
}

const serialise = (doc) => JSON.stringify(doc, null, 2) + "\n";

async function main() {
  await hre.run("compile", { quiet: true });
  fs.mkdirSync(OUT_DIR, { recursive: true });
  for (const name of CONTRACTS) {
    const file = path.join(OUT_DIR, `${name}.json`);
    fs.writeFileSync(file, serialise(await exportedArtifact(name)));
    console.log(`wrote ${path.relative(hre.config.paths.root, file)}`);
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}

module.exports = { CONTRACTS, OUT_DIR, exportedArtifact, serialise };
