"""Backup and restore of a data directory holding N credentials (issue 22, item 5).

Run: .venv/bin/python bench/bench_backup.py [N] [--database-url URL]

Builds a data directory as an agency would (init, chain up, deploy, agency register, one
``issue-bulk`` of N rows: credentials sealed at rest, anchored, their shares in the content store),
then times ``create_backup`` (database snapshot, tar of the directory, encryption) and
``restore_backup`` (a pass checking every tag, then the extraction and the database restore), and
prints the sizes and the peak memory of this process. ``--database-url postgresql+psycopg://…`` puts
the issuer's database on PostgreSQL (the restore then needs a second, empty database: ``--restore-url``).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_issue_bulk import csv_rows  # noqa: E402


def _cli(home: Path, *args: str) -> None:
    from certledger.cli import main

    if main(["--data-dir", str(home), *args]) != 0:
        raise SystemExit(f"certledger {' '.join(args)} failed")


def run(n: int, database_url: str | None, restore_url: str | None) -> dict:
    from ledger.config import load_settings
    from ledger.governance.accounts import passphrase_for
    from ledger.governance.backup import create_backup, restore_backup

    with tempfile.TemporaryDirectory(prefix="bench-backup-") as work:
        root = Path(work)
        home = root / "home"
        init = ["init", "--port", "0"] + (["--database-url", database_url] if database_url else [])
        _cli(home, *init)
        _cli(home, "chain", "up")
        try:
            _cli(home, "deploy")
            _cli(
                home, "agency", "register", "zj-hz-education", "--name", "杭州市教育局", "--types", "DegreeCertificate"
            )
            rows = root / "rows.csv"
            rows.write_bytes(csv_rows(n))
            t0 = time.perf_counter()
            _cli(home, "issue-bulk", "--type", "DegreeCertificate", "--csv", str(rows), "--out-dir", str(root / "out"))
            issue_s = time.perf_counter() - t0
            settings = load_settings(home)
            passphrase = passphrase_for(settings)
            out = root / "snapshot.clbak"
            t0, c0 = time.perf_counter(), time.process_time()
            info = create_backup(settings, passphrase, out)
            backup_s, backup_cpu = time.perf_counter() - t0, time.process_time() - c0
            t0, c0 = time.perf_counter(), time.process_time()
            restore_backup(out, passphrase, root / "restored", database_url=restore_url)
            restore_s, restore_cpu = time.perf_counter() - t0, time.process_time() - c0
        finally:
            _cli(home, "chain", "down")
        return {
            "credentials": n,
            "database": info["database"],
            "issue_bulk_s": round(issue_s, 1),
            "backup_s": round(backup_s, 2),
            "backup_cpu_s": round(backup_cpu, 2),
            "restore_s": round(restore_s, 2),
            "restore_cpu_s": round(restore_cpu, 2),
            "backup_bytes": info["bytes"],
            "files": info["files"],
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--restore-url", help="PostgreSQL: an empty database to restore into")
    args = parser.parse_args()
    for key, value in run(args.n, args.database_url, args.restore_url).items():
        print(f"{key:>14}: {value}")


if __name__ == "__main__":
    main()
