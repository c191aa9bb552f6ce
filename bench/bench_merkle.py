"""Time to build a Merkle batch (root and every proof) for 10k and 100k digests.

Run: .venv/bin/python bench/bench_merkle.py
Target (DESIGN work plan): 100,000 leaves with all proofs in <= 2 s on 2 cores.
"""

from __future__ import annotations

import hashlib
import time

from ledger.protocol.merkle import MerkleTree, verify


def bench(n: int, repeat: int = 3) -> dict:
    digests = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(n)]
    best_root = best_all = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        tree = MerkleTree.build(digests)
        t1 = time.perf_counter()
        proofs = tree.proofs()
        t2 = time.perf_counter()
        best_root = min(best_root, t1 - t0)
        best_all = min(best_all, t2 - t0)
    assert len(proofs) == n
    for i in (0, n // 2, n - 1):
        assert verify(digests[i], proofs[i], tree.root)
    return {"leaves": n, "root_s": round(best_root, 3), "root_and_proofs_s": round(best_all, 3), "repeat": repeat}


def run() -> dict:
    return {f"tree_{n}": bench(n) for n in (10_000, 100_000)}


if __name__ == "__main__":
    for figures in run().values():
        print(
            f"{figures['leaves']:>7} leaves: root {figures['root_s']:.3f} s, root + all proofs "
            f"{figures['root_and_proofs_s']:.3f} s (best of {figures['repeat']})"
        )
