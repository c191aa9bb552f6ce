"""The cost of one scrape of the issuer's `/metrics` on a data directory of N anchored credentials
and P pending ones (issue 22, item 6).

Run: .venv/bin/python bench/bench_metrics_scrape.py [N] [--pending P]

Builds a data directory as an agency would (init, chain up, deploy, agency register, one
``issue-bulk`` of N rows, anchored), issues P more that stay pending, then times, 7 times each:
``credential_counts`` (the database reads behind the counts), and a whole ``GET /metrics`` with a
governance key through the app in process (authentication, the counts, the chain, content store and
database probes, the text format). Prints min and median in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_issue_bulk import csv_rows  # noqa: E402

AGENCY, TYPE = "zj-hz-education", "DegreeCertificate"


def _cli(home: Path, *args: str) -> None:
    from certledger.cli import main

    if main(["--data-dir", str(home), *args]) != 0:
        raise SystemExit(f"certledger {' '.join(args)} failed")


def _times(fn, runs: int = 7) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def run(n: int, pending: int) -> dict:
    from fastapi.testclient import TestClient

    from issuer_api.app import create_app
    from issuer_api.main import build_service
    from ledger.chain.embedded import rpc_urls_for
    from ledger.config import load_settings
    from ledger.governance.api_keys import create_api_key
    from ledger.issuance import issue_file
    from ledger.issuance.metrics import credential_counts
    from ledger.settings import IssuerSettings

    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as work:
        root = Path(work)
        home = root / "home"
        _cli(home, "init", "--port", "0")
        _cli(home, "chain", "up")
        try:
            _cli(home, "deploy")
            _cli(home, "agency", "register", AGENCY, "--name", "杭州市教育局", "--types", TYPE)
            rows = root / "rows.csv"
            rows.write_bytes(csv_rows(n))
            _cli(home, "issue-bulk", "--type", TYPE, "--csv", str(rows), "--out-dir", str(root / "out"))
            config = load_settings(home)
            service = build_service(
                config, rpc_urls_for(config), IssuerSettings(verifier_url="http://127.0.0.1:8080", run_anchorer=False)
            )
            if pending:
                issue_file(service.ctx, AGENCY, TYPE, csv_rows(pending), "csv")
            counts = credential_counts(service.ctx).agencies[AGENCY]
            assert (counts.issued, counts.anchored, counts.pending) == (n + pending, n, pending), counts
            counting = _times(lambda: credential_counts(service.ctx))
            _, governance = create_api_key(service.ctx.engine, None, ["governance"], "bench")
            with TestClient(create_app(service)) as client:
                headers = {"Authorization": f"Bearer {governance}"}

                def scrape():
                    reply = client.get("/metrics", headers=headers)
                    assert reply.status_code == 200 and "certledger_chain_reachable 1.0" in reply.text, reply.text

                scraping = _times(scrape)
        finally:
            _cli(home, "chain", "down")
    return {
        "credentials": n + pending,
        "pending": pending,
        "counts_ms_min": round(min(counting), 1),
        "counts_ms_median": round(statistics.median(counting), 1),
        "scrape_ms_min": round(min(scraping), 1),
        "scrape_ms_median": round(statistics.median(scraping), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=100_000)
    parser.add_argument("--pending", type=int, default=1_000)
    args = parser.parse_args()
    for key, value in run(args.n, args.pending).items():
        print(f"{key:>18}: {value}")


if __name__ == "__main__":
    main()
