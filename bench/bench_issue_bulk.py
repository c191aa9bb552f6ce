"""Bulk issuance end to end: CSV parse, schema check, sign, digest, seal, store, one anchor.

Run: .venv/bin/python bench/bench_issue_bulk.py [N] [--database-url URL] [--workers W]
Target (issue "Issuer service"): 100,000 credentials >= 5,000 credentials/s end to end on 2 cores.
Starts its own anvil on a free loopback port, deploys, registers an agency, then times
``issue_file`` (CSV) and ``anchor_once(flush=True)`` (one batch, one anchor transaction, every
credential anchored). Default database: a fresh SQLite file.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eth_account import Account  # noqa: E402

from ledger.accounts import fund_on_anvil  # noqa: E402
from ledger.agency_keys import AgencyKeys  # noqa: E402
from ledger.chain import RegistryClient, connect, deploy_contracts, make_sender  # noqa: E402
from ledger.embedded_chain import EmbeddedChain  # noqa: E402
from ledger.issuance import (  # noqa: E402
    AgencyKeyring, BatchPolicy, ChainAccess, IssuanceContext, anchor_once, issue_file, register_agency)
from ledger.keys import SigningKey  # noqa: E402
from ledger.onboarding import onboard_agency  # noqa: E402
from ledger.storage.db import init_database  # noqa: E402
from ledger.storage.sealing import StorageSealer  # noqa: E402

CODE, TYPE = "bench-university", "DegreeCertificate"


def csv_rows(n: int) -> bytes:
    lines = ["name,idNumber,degree,major,institution,graduationDate"]
    lines += [f"学生{i},330106199001011234,学士 Bachelor of Engineering,计算机科学与技术,浙江大学,2024-06-30" for i in range(n)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def run(n: int, database_url: str | None, workers: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        chain = EmbeddedChain(Path(tmp) / "chain", port=0)
        process = chain.up()
        try:
            return _run(process, n, database_url or f"sqlite:///{tmp}/bench.db", workers)
        finally:
            chain.down()


def _run(process, n: int, database_url: str, workers: int) -> dict:
    w3 = connect(process.rpc_url, process.chain_id)
    governance = Account.create()
    keys = AgencyKeys(Account.create(), SigningKey.generate())
    for a in (governance, keys.operator):
        fund_on_anvil(process.rpc_url, a.address)
    deployment = deploy_contracts(make_sender(w3, governance))
    onboard_agency(RegistryClient(w3, deployment.registry, make_sender(w3, governance)), CODE, keys.operator.address,
                   keys.signing_key.public_key.raw, [TYPE])
    engine = init_database(database_url)
    ctx = IssuanceContext(engine, StorageSealer(os.urandom(32)),
                          ChainAccess(process.rpc_url, deployment, AgencyKeyring.of({CODE: keys})),
                          policy=BatchPolicy(max_size=max(n, 1)), signing_workers=workers)
    register_agency(ctx, CODE, "Bench University", [TYPE])
    data = csv_rows(n)

    cpu0, kids0 = time.process_time(), _children_cpu()
    t0 = time.perf_counter()
    result = issue_file(ctx, CODE, TYPE, data, "csv")
    t1 = time.perf_counter()
    report = anchor_once(ctx, flush=True)
    t2 = time.perf_counter()
    cpu, kids = time.process_time() - cpu0, _children_cpu() - kids0
    assert len(result.issued) == n and not result.errors
    assert len(report.sealed) == 1 and report.completed == report.sealed
    engine.dispose()
    return {"n": n, "issue_s": t1 - t0, "anchor_s": t2 - t1, "total_s": t2 - t0, "per_s": n / (t2 - t0),
            "cpu_s": cpu, "workers_cpu_s": kids}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # signing workers, once they have exited
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--workers", type=int, default=0, help="signing processes (0: one per core)")
    args = parser.parse_args()
    r = run(args.n, args.database_url, args.workers)
    print(f"{r['n']:,} credentials: issue {r['issue_s']:.2f} s + anchor {r['anchor_s']:.2f} s = "
          f"{r['total_s']:.2f} s -> {r['per_s']:,.0f} credentials/s end to end ({os.cpu_count()} cores); "
          f"CPU: this process {r['cpu_s']:.2f} s, signing workers {r['workers_cpu_s']:.2f} s")


if __name__ == "__main__":
    main()
