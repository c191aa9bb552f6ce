"""Verifying many bundles over every core, against OpenAttestation's verifySignature in the same run.

Run: .venv/bin/python bench/bench_verify_many.py [N]
Target (issue 21): >= 2.0x OpenAttestation verifySignature in the same run, using every core.
Starts its own anvil, anchors N credentials as one batch (bench_verify.prepare), then measures, in
this order: one process with a warm cache (the figure issue 3 names); the pool from cold, as
`certledger verify bundles.jsonl` does it (workers started, statuses prefetched, each worker's own
cache filled); the pool warm (workers running, seeded with the parent's cache); OpenAttestation
(`node bench/openattestation.js N`). Every figure is bundles per second over all six checks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_verify  # noqa: E402

from ledger.chain.embedded import EmbeddedChain  # noqa: E402
from ledger.verification import CachedChainReader, RpcChainReader, TrustRoots, verify  # noqa: E402
from ledger.verification.inputs import Item  # noqa: E402
from ledger.verification.many import RpcReaderRecipe, VerifyPool, verify_all  # noqa: E402

TARGET_RATIO = 2.0


def run(n: int = 10_000) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        chain = EmbeddedChain(Path(tmp), port=0)
        process = chain.up()
        try:
            return _run(process, n)
        finally:
            chain.down()


def _run(process, n: int) -> dict:
    deployment, blobs, _ = bench_verify.prepare(process, n)
    trust = TrustRoots.single(deployment.chain_id, deployment.registry, deployment.ledger)
    urls = {deployment.chain_id: [process.rpc_url]}
    items = [Item(f"bundle {i}", b) for i, b in enumerate(blobs)]
    cores = os.cpu_count() or 1

    def valid(outcomes) -> int:
        return sum(o.verdict == "VALID" for o in outcomes)

    # the pool from cold, as the command does it (pool start, prefetch, cold worker caches)
    t0 = time.perf_counter()
    assert valid(verify_all(items, trust, CachedChainReader(RpcChainReader(urls)), processes=cores)) == n
    pool_cold_s = time.perf_counter() - t0

    # one process, warm cache (issue 3's figure, for the record in the same run)
    reader = CachedChainReader(RpcChainReader(urls))
    reader.prefetch_statuses(next(iter(trust)))
    for b in blobs:
        verify(b, trust, reader)
    t0 = time.perf_counter()
    for b in blobs:
        verify(b, trust, reader)
    one_warm_s = time.perf_counter() - t0

    # the pool warm: running workers seeded with the parent's cache; best of three passes
    pool_warm_s = []
    with VerifyPool(trust, RpcReaderRecipe.like(reader), cores) as pool:
        pool.warm()
        for _ in range(3):
            t0 = time.perf_counter()
            assert valid(pool.verify(items)) == n
            pool_warm_s.append(time.perf_counter() - t0)

    oa = openattestation(n)
    pool_warm_per_s = n / min(pool_warm_s)
    return {
        "bundles": n,
        "cores": cores,
        "one_process_warm_per_s": round(n / one_warm_s),
        "pool_cold_per_s": round(n / pool_cold_s),
        "pool_cold_seconds": round(pool_cold_s, 2),
        "pool_warm_per_s": round(pool_warm_per_s),
        "pool_warm_passes_per_s": [round(n / s) for s in pool_warm_s],
        "oa_verify_signature_per_s": oa["verify_signature_per_s"],
        "ratio_pool_warm_to_oa": round(pool_warm_per_s / oa["verify_signature_per_s"], 2),
        "ratio_pool_cold_to_oa": round(n / pool_cold_s / oa["verify_signature_per_s"], 2),
        "target_ratio": TARGET_RATIO,
    }


def openattestation(n: int) -> dict:
    done = subprocess.run(
        ["node", "bench/openattestation.js", str(n)], cwd=ROOT, capture_output=True, text=True, timeout=900, check=True
    )
    return json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])


if __name__ == "__main__":
    figures = run(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
    f = figures
    print(f"{f['bundles']:,} bundles, all six checks, {f['cores']} cores")
    print(f"  one process, warm cache:            {f['one_process_warm_per_s']:,}/s")
    print(f"  pool, from cold (as the command):   {f['pool_cold_per_s']:,}/s ({f['pool_cold_seconds']} s)")
    print(f"  pool, warm:                          {f['pool_warm_per_s']:,}/s (passes {f['pool_warm_passes_per_s']})")
    print(f"  OpenAttestation verifySignature:     {f['oa_verify_signature_per_s']:,}/s")
    print(
        f"  ratio pool warm / OA: {f['ratio_pool_warm_to_oa']}x, pool cold / OA: {f['ratio_pool_cold_to_oa']}x "
        f"(target >= {TARGET_RATIO}x)"
    )
    print(json.dumps(figures))
