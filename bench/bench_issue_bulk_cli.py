"""`certledger issue-bulk` as an agency runs it: the command itself, timed from outside.

Run: .venv/bin/python bench/bench_issue_bulk_cli.py [N] [--files]
Target (issue #4): 100,000 credentials >= 5,000 credentials/s end to end on 2 cores, on the embedded
defaults. In a fresh data directory (``certledger init``, ``chain up``, ``deploy``, ``agency
register``, none of it timed) the benchmark runs ``certledger issue-bulk --csv`` on N rows in a
process of its own and times it whole: start-up and imports, CSV, schema, sign, digest, encrypt at rest,
database, one anchor transaction, the encrypted share of every bundle in the content store, and
the command's output in ``--out-dir`` (``bundles.jsonl`` and ``links.csv``; with ``--files``, one
file per bundle instead of ``bundles.jsonl``). The command's own time line is printed beside it.

Checked after the run: the output holds N bundles of one anchor transaction and N share links;
the first and the last bundle verify VALID (``certledger verify``); the first and the last link
open their credential's share in the content store.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_issue_bulk import TYPE, csv_rows  # noqa: E402

from ledger.content.links import parse_share_link  # noqa: E402
from ledger.content.local_store import LocalContentStore  # noqa: E402
from ledger.content.share import decrypt_share  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLI = [str(Path(sys.executable).parent / "certledger")]
AGENCY = "bench-university"


def _certledger(home: Path, *args: str, timeout_s: float = 600) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [*CLI, "--data-dir", str(home), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout_s
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"certledger {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        )
    return done


def run(n: int, files: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        home, out, rows = Path(tmp) / "home", Path(tmp) / "out", Path(tmp) / "rows.csv"
        for args in (
            ["init", "--port", "0"],
            ["chain", "up"],
            ["deploy"],
            ["agency", "register", AGENCY, "--name", "Bench University", "--types", TYPE],
        ):
            _certledger(home, *args)
        try:
            rows.write_bytes(csv_rows(n))
            load = os.getloadavg()[0]
            command = ["issue-bulk", "--type", TYPE, "--csv", str(rows), "--out-dir", str(out)] + (
                ["--files"] if files else []
            )
            t0 = time.perf_counter()
            done = _certledger(home, *command)
            seconds = time.perf_counter() - t0
            bundles = _check(home, out, n, files)
        finally:
            subprocess.run([*CLI, "--data-dir", str(home), "chain", "down"], cwd=ROOT, capture_output=True)
    timeline = next((line for line in done.stdout.splitlines() if line.startswith("time:")), "")
    return {
        "n": n,
        "files": files,
        "total_s": seconds,
        "per_s": n / seconds,
        "timeline": timeline,
        "bundles": bundles,
        "load_before": load,
    }


def _check(home: Path, out: Path, n: int, files: bool) -> int:
    if files:
        paths = sorted(out.glob("*.json"))
        first, last = paths[0].read_bytes(), paths[-1].read_bytes()
        count, anchors = len(paths), {json.loads(first)["anchor"]["txHash"], json.loads(last)["anchor"]["txHash"]}
    else:
        lines = (out / "bundles.jsonl").read_bytes().splitlines()
        first, last, count = lines[0], lines[-1], len(lines)
        anchors = {json.loads(line)["anchor"]["txHash"] for line in lines}
    assert count == n, f"{count} bundles written, expected {n}"
    assert len(anchors) == 1, f"{len(anchors)} anchor transactions, expected one"
    links = (out / "links.csv").read_text("utf-8").splitlines()
    assert len(links) == n + 1, f"{len(links) - 1} share links, expected {n}"
    for line in (links[1], links[-1]):  # a link opens its credential's bundle in the content store
        credential_id, url = line.split(",")[1:]
        link = parse_share_link(url)
        share = json.loads(decrypt_share(LocalContentStore(home / "content").get(link.cid), link.key))
        assert share["credential"]["id"] == credential_id, f"the link of {credential_id} opens another credential"
    for bundle in (first, last):
        verdict = subprocess.run(
            [*CLI, "--data-dir", str(home), "verify", "-"], cwd=ROOT, input=bundle, capture_output=True
        )
        assert verdict.returncode == 0, verdict.stdout.decode()[-2000:]
    return count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=100_000)
    parser.add_argument("--files", action="store_true", help="one file per bundle instead of bundles.jsonl")
    args = parser.parse_args()
    r = run(args.n, args.files)
    print(
        f"certledger issue-bulk {r['n']:,} rows{' --files' if r['files'] else ''}: {r['total_s']:.2f} s for the "
        f"command -> {r['per_s']:,.0f} credentials/s end to end ({os.cpu_count()} cores, load before "
        f"{r['load_before']:.2f})\n  its own {r['timeline']}\n  checked: {r['bundles']:,} bundles of one anchor, "
        f"first and last VALID"
    )
    print(json.dumps(r))


if __name__ == "__main__":
    main()
