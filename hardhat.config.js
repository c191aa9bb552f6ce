// Hardhat compiles offline: the solc compiler comes from the exactly pinned npm package `solc`
// (soljson.js), because Hardhat cannot download compilers on this network.
const path = require("path");
const { subtask } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require("hardhat/builtin-tasks/task-names");
require("@nomicfoundation/hardhat-ethers");
require("@nomicfoundation/hardhat-chai-matchers");
require("hardhat-gas-reporter");

const SOLC_VERSION = require("solc/package.json").version;

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args, hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) {
    throw new Error(`only solc ${SOLC_VERSION} (npm package solc) is available offline; asked for ${args.solcVersion}`);
  }
  return {
    compilerPath: path.join(__dirname, "node_modules", "solc", "soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: require("solc").version(),
  };
});

module.exports = {
  solidity: {
    version: SOLC_VERSION,
    settings: { optimizer: { enabled: true, runs: 10000 }, evmVersion: "cancun" },
  },
  paths: {
    sources: "./contracts",
    tests: "./contracts/test",
    cache: "./build/hardhat-cache",
    artifacts: "./build/artifacts",
  },
  gasReporter: {
    enabled: true,
    currency: "USD",
    offline: true,
    outputJSON: true,
    outputJSONFile: "build/gas-report.json",
    reportPureAndViewMethods: false,
    noColors: !!process.env.CI,
  },
  mocha: { timeout: 120000 },
};
