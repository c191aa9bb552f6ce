"""Bulk issuance end to end: CSV parse, schema check, sign, digest, encrypt at rest, store, one anchor, and the
encrypted share of every bundle in the content store.

Run: .venv/bin/python bench/bench_issue_bulk.py [N] [--database-url URL] [--workers W] [--no-shares]
Target (issue #4): 100,000 credentials >= 5,000 credentials/s end to end on 2 cores, on the embedded
defaults: a SQLite file and the embedded content store (a directory), wired as ``issue-bulk`` wires
them (``ledger.issuance.assembly.attach_shares``). ``--database-url postgresql+psycopg://…`` measures
PostgreSQL instead; ``--no-shares`` leaves the content step out (the figure before shares existed).

Starts its own anvil on a free loopback port, deploys, registers an agency, then times
``issue_file`` (CSV) and ``anchor_once(flush=True)`` (one batch, one anchor transaction, every
credential anchored, every bundle delivered as an encrypted share), and prints where the time went:

* issue   — parse, validate, sign, digest, encrypt at rest and insert the credentials;
* anchor  — close the batch (Merkle tree), send the anchor transaction, confirm;
* bundles — read the stored credentials, build every bundle (proof path, JSON) and encrypt its
            share: for a batch this large in a worker process, chunks ahead of the storing, so
            this is mostly what this process waited for it (``ledger.issuance.delivery``);
* shares  — record the shares (database): the share step without the store;
* store   — the content store's ``put_many`` (CID, pack write, fsync, rename).

Each with its wall time and this process's CPU time: with other work on the machine, the CPU
times say more than the wall times (the load average is printed too). The workers' CPU time
(signing, and building the bundles) is printed apart.

Bundles written to files (``issue-bulk --out-dir``) are not part of it.
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

from ledger.chain import RegistryClient, connect, deploy_contracts, make_sender  # noqa: E402
from ledger.chain.embedded import EmbeddedChain  # noqa: E402
from ledger.content.local_store import PACK_DIR, LocalContentStore, read_pack_index  # noqa: E402
from ledger.governance.accounts import fund_on_anvil  # noqa: E402
from ledger.governance.agency_keys import AgencyKeys  # noqa: E402
from ledger.governance.key_files import SigningKey  # noqa: E402
from ledger.governance.onboarding import onboard_agency  # noqa: E402
from ledger.issuance import (  # noqa: E402
    AgencyKeyring,
    BatchPolicy,
    ChainAccess,
    IssuanceContext,
    anchor_once,
    anchoring,  # noqa: E402
    issue_file,
    register_agency,
)
from ledger.issuance.assembly import attach_shares  # noqa: E402
from ledger.issuance.context import BundleSink  # noqa: E402
from ledger.storage.at_rest import AtRestCipher  # noqa: E402
from ledger.storage.db import init_database  # noqa: E402

CODE, TYPE = "bench-university", "DegreeCertificate"
_DELIVER = anchoring.deliver_bundles


def csv_rows(n: int) -> bytes:
    lines = ["name,idNumber,degree,major,institution,graduationDate"]
    lines += [
        f"学生{i},330106199001011234,学士 Bachelor of Engineering,计算机科学与技术,浙江大学,2024-06-30"
        for i in range(n)
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


class _Timed:
    """Wraps a callable and adds up the time (wall and this process's CPU) spent in it."""

    def __init__(self, fn) -> None:
        self.fn, self.seconds, self.cpu = fn, 0.0, 0.0

    def __call__(self, *args):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return self.fn(*args)
        finally:
            self.seconds += time.perf_counter() - t0
            self.cpu += time.process_time() - c0


def run(n: int, database_url: str | None, workers: int, shares: bool = True) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        chain = EmbeddedChain(Path(tmp) / "chain", port=0)
        process = chain.up()
        try:
            return _run(
                process,
                n,
                database_url or f"sqlite:///{tmp}/bench.db",
                workers,
                Path(tmp) / "content" if shares else None,
            )
        finally:
            chain.down()


def _run(process, n: int, database_url: str, workers: int, content_dir: Path | None) -> dict:
    w3 = connect(process.rpc_url, process.chain_id)
    governance = Account.create()
    keys = AgencyKeys(Account.create(), SigningKey.generate())
    for a in (governance, keys.operator):
        fund_on_anvil(process.rpc_url, a.address)
    deployment = deploy_contracts(make_sender(w3, governance))
    onboard_agency(
        RegistryClient(w3, deployment.registry, make_sender(w3, governance)),
        CODE,
        "Bench University",
        keys.operator.address,
        keys.signing_key.public_key.raw,
        [TYPE],
    )
    engine = init_database(database_url)
    ctx = IssuanceContext(
        engine,
        AtRestCipher(os.urandom(32)),
        ChainAccess(process.rpc_url, deployment, AgencyKeyring.of({CODE: keys})),
        policy=BatchPolicy(max_size=max(n, 1)),
        signing_workers=workers,
    )
    hook = put = None
    deliver = anchoring.deliver_bundles = _Timed(_DELIVER)
    if content_dir is not None:
        store = LocalContentStore(content_dir)
        shares = attach_shares(ctx, store)
        hook = _Timed(ctx.bundle_sink.store)
        ctx.bundle_sink = BundleSink(ctx.bundle_sink.prepare, hook)
        put = store.put_many = _Timed(store.put_many)
    register_agency(ctx, CODE, "Bench University", [TYPE])
    data = csv_rows(n)

    cpu0, kids0 = time.process_time(), _children_cpu()
    t0 = time.perf_counter()
    result = issue_file(ctx, CODE, TYPE, data, "csv")
    t1, cpu1 = time.perf_counter(), time.process_time()
    report = anchor_once(ctx, flush=True)
    t2 = time.perf_counter()
    cpu, kids = time.process_time() - cpu0, _children_cpu() - kids0
    assert len(result.issued) == n and not result.errors
    assert len(report.closed) == 1 and report.completed == report.closed
    if content_dir is not None:
        assert shares.pending_count() == 0
        stored = sum(len(read_pack_index(pack)) for pack in (content_dir / PACK_DIR).glob("*.pack"))
        assert stored == n, f"{stored} objects in the content store, expected {n}"
    engine.dispose()
    # phase -> (wall s, CPU s of this process); the workers' CPU is apart
    phases = {"issue": (t1 - t0, cpu1 - cpu0)}
    anchor_cpu = cpu - (cpu1 - cpu0)
    phases["anchor"] = ((t2 - t1) - deliver.seconds, anchor_cpu - deliver.cpu)
    if hook is not None:
        phases["bundles"] = (deliver.seconds - hook.seconds, deliver.cpu - hook.cpu)
        phases["shares"] = (hook.seconds - put.seconds, hook.cpu - put.cpu)
        phases["store"] = (put.seconds, put.cpu)
    return {
        "n": n,
        "total_s": t2 - t0,
        "per_s": n / (t2 - t0),
        "phases": phases,
        "cpu_s": cpu,
        "workers_cpu_s": kids,
        "shares": content_dir is not None,
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers, once they have exited
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--workers", type=int, default=0, help="signing processes (0: one per core)")
    parser.add_argument("--no-shares", action="store_true", help="leave the encrypted shares out")
    args = parser.parse_args()
    load = os.getloadavg()
    r = run(args.n, args.database_url, args.workers, shares=not args.no_shares)
    phases = ", ".join(f"{name} {wall:.2f} s (CPU {cpu:.2f} s)" for name, (wall, cpu) in r["phases"].items())
    print(
        f"{r['n']:,} credentials{' with encrypted shares' if r['shares'] else ''}: {r['total_s']:.2f} s -> "
        f"{r['per_s']:,.0f} credentials/s end to end ({os.cpu_count()} cores)\n"
        f"  {phases}\n"
        f"  CPU: this process {r['cpu_s']:.2f} s, workers (signing, bundles) {r['workers_cpu_s']:.2f} s; "
        f"load average before {load[0]:.2f}, after {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
