#!/usr/bin/env node
// Independent verifier of CertLedger protocol v2 bundles, written from docs/protocol.md alone.
//
//   node verify.mjs --rpc <url> --trust <ledger CAIP-10> <registry CAIP-10> [--trust …] [--now <ISO time>]
//                   [--detail] FILE...            (FILE "-" reads standard input)
//   node verify.mjs --self-test [--examples DIR]
//
// Prints one JSON line per file: {"file", "verdict", "checks": [{"name", "status", "code"}], "credential"}
// ("credential" as protocol.md 10.6 has it: {} unless format passed).
// Exit status: 0 all VALID; 1 some INVALID; 2 some ERROR (and none INVALID); 64 usage error.

import { readFileSync } from 'node:fs';
import { parseCaip10 } from './lib/codec.mjs';
import { RpcClient, ChainError } from './lib/chain.mjs';
import { parseDateTimeStamp, microsFromDate } from './lib/time.mjs';
import { verifyBundle } from './lib/verify.mjs';

function usage(msg) {
  if (msg) process.stderr.write(`verify.mjs: ${msg}\n`);
  process.stderr.write(
    'usage: node verify.mjs --rpc URL --trust LEDGER_CAIP10 REGISTRY_CAIP10 [--trust …] [--now ISO] [--detail] FILE...\n' +
      '       node verify.mjs --self-test [--examples DIR]\n',
  );
  process.exit(64);
}

async function main(argv) {
  if (argv.includes('--self-test')) {
    const { selfTest } = await import('./selftest.mjs');
    const k = argv.indexOf('--examples');
    process.exit(await selfTest(k >= 0 ? argv[k + 1] : undefined));
  }
  let rpcUrl = null;
  let now = null;
  let detail = false;
  const trustRoots = [];
  const files = [];
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    if (a === '--rpc') {
      rpcUrl = argv[++k];
      if (!rpcUrl) usage('--rpc needs a URL');
    } else if (a === '--trust') {
      const [l, r] = [argv[++k], argv[++k]];
      if (!l || !r) usage('--trust needs a ledger and a registry CAIP-10 account');
      let ledger, registry;
      try {
        ledger = parseCaip10(l);
        registry = parseCaip10(r);
      } catch (e) {
        usage(`--trust ${l} ${r}: ${e.message}`);
      }
      if (ledger.chainId !== registry.chainId) usage('--trust: ledger and registry must be on one chain');
      trustRoots.push({ chainId: ledger.chainId, ledger: ledger.address, registry: registry.address });
    } else if (a === '--now') {
      try {
        now = parseDateTimeStamp(argv[++k]).micros;
      } catch (e) {
        usage(`--now: ${e.message}`);
      }
    } else if (a === '--detail') {
      detail = true;
    } else if (a.startsWith('--')) {
      usage(`unknown option ${a}`);
    } else {
      files.push(a);
    }
  }
  if (files.length === 0) usage('no bundle file given');

  const rpc = rpcUrl ? new RpcClient(rpcUrl) : null;
  const rpcFor = () =>
    rpc || {
      chainId: async () => {
        throw new ChainError('no RPC endpoint configured (--rpc)');
      },
    };

  let worst = 0;
  for (const file of files) {
    let bytes;
    try {
      bytes = file === '-' ? readFileSync(0) : readFileSync(file);
    } catch (e) {
      process.stdout.write(JSON.stringify({ file, verdict: 'ERROR', checks: [], error: e.message }) + '\n');
      worst = Math.max(worst, 2);
      continue;
    }
    const report = await verifyBundle(bytes, { trustRoots, rpcFor, now: now ?? microsFromDate(new Date()) });
    const checks = report.checks.map(({ name, status, code, detail: d }) =>
      detail && d ? { name, status, code, detail: d } : { name, status, code },
    );
    process.stdout.write(JSON.stringify({ file, verdict: report.verdict, checks, credential: report.credential }) + '\n');
    const rank = { VALID: 0, ERROR: 2, INVALID: 3 }[report.verdict];
    worst = Math.max(worst, rank);
  }
  process.exit(worst === 3 ? 1 : worst);
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`verify.mjs: ${e.stack || e}\n`);
  process.exit(70);
});
