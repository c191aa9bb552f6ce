"""After a restore: reconciling N credentials pending in the snapshot that the old directory anchored
afterwards (issue 22, restore vs double anchoring; ledger/issuance/reconcile.py). SQLite.

Run: .venv/bin/python bench/bench_reconcile.py [N]

A data directory as an agency has it (init, chain up, deploy, agency register), N credentials issued
and left pending; the database file is copied (the snapshot), then the original anchors them (batches
of at most 10,000). On the copy: ``hold_pending`` (what ``restore`` does), ``reconcile_held`` (what
the anchorer does before closing batches: the unknown Anchored roots rebuilt from the held
credentials), one anchoring round (the adopted batches confirmed from the chain), and the check an
anchoring round makes when nothing is held (200 times). Prints each time and the Anchored events on
chain, which must equal the old directory's batches: nothing anchored twice.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SUBJECT = {"name": "张三", "degree": "学士", "major": "数学", "institution": "浙江大学", "graduationDate": "2024-06-30"}


def main(n: int) -> None:
    from web3 import Web3

    from certledger.cli import main as cli
    from ledger.config import load_settings
    from ledger.issuance import IssuanceContext, anchor_once, issue_many, rows_from_objects
    from ledger.issuance.reconcile import _ANCHORED_TOPIC, hold_pending, reconcile_held
    from ledger.storage.db import init_database

    home = Path(tempfile.mkdtemp(prefix="bench-reconcile-")) / "home"
    for args in (
        ["init", "--port", "0"],
        ["chain", "up"],
        ["deploy"],
        ["agency", "register", "zj-hz-education", "--name", "edu", "--types", "DegreeCertificate"],
    ):
        assert cli(["--data-dir", str(home), *args]) == 0
    try:
        record = json.loads((home / "chain" / "anvil.json").read_text())
        settings = load_settings(home)
        ctx = IssuanceContext.from_settings(settings, [f"http://{record['host']}:{record['port']}"])

        def anchors() -> int:
            ledger = Web3.to_checksum_address(ctx.chain.deployment.ledger)
            return len(ctx.chain.w3.eth.get_logs({"address": ledger, "fromBlock": 0, "topics": [_ANCHORED_TOPIC]}))

        rows = rows_from_objects([{**SUBJECT, "name": f"n{i}"} for i in range(n)])
        issue_many(ctx, "zj-hz-education", "DegreeCertificate", rows)
        ctx.engine.dispose()
        shutil.copy(settings.resolved_database_url.removeprefix("sqlite:///"), home / "snapshot.db")
        old_batches = len(anchor_once(ctx, flush=True).confirmed)
        ctx.engine.dispose()
        ctx.engine, ctx.trees = init_database(f"sqlite:///{home / 'snapshot.db'}"), type(ctx.trees)()
        t0 = time.perf_counter()
        held = hold_pending(ctx.engine)
        t1 = time.perf_counter()
        reconcile_held(ctx)
        t2 = time.perf_counter()
        report = anchor_once(ctx)
        t3 = time.perf_counter()
        idle = []
        for _ in range(200):
            start = time.perf_counter()
            reconcile_held(ctx)
            idle.append(time.perf_counter() - start)
        idle.sort()
        print(
            f"{n:,} pending in the snapshot ({held}), {old_batches} batches anchored after it: hold {t1 - t0:.2f} s, "
            f"reconcile {t2 - t1:.2f} s, adopting round {t3 - t2:.2f} s ({len(report.confirmed)} confirmed, "
            f"{len(report.closed)} closed); Anchored events on chain {anchors()} (= {old_batches}: none twice); "
            f"the check with nothing held: median {idle[100] * 1e6:.0f} µs, p95 {idle[190] * 1e6:.0f} µs"
        )
    finally:
        cli(["--data-dir", str(home), "chain", "down"])
        shutil.rmtree(home.parent, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
