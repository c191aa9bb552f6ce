"""The verifier's Prometheus metrics, served by ``verifier`` at ``/metrics`` (docs/operations.md, Monitoring).

* ``certledger_verifications_total{endpoint, verdict, check, code}``: each report's verdict and the
  check that decided it (the first that failed, or could not decide) with its stable code; a VALID
  report counts as ``check="all", code="VALID"``. Counted by the process that answered (a counter in
  prometheus-client's multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set, as
  ``certledger serve verifier --workers N`` sets it, so a scrape sums every worker's).
* :class:`VerifierCollector`, read at scrape time: whether each configured chain node, the content
  store and the index database answer.

Codes and check names are the protocol's fixed vocabularies: no credential id, subject or issuer in a label.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ledger.chain.jsonrpc import rpc_reachable
from ledger.content.store import store_reachable
from ledger.verification.report import Report, Status

VERIFICATIONS = Counter(
    "certledger_verifications",
    "Verification reports by endpoint, verdict, and the check that decided it with its code",
    ["endpoint", "verdict", "check", "code"],
)
_VALID_PREFIX = '{"verdict": "VALID"'  # Report.to_json_text's opening for a VALID report


def deciding_check(checks: Iterable[tuple[str, str, str]]) -> tuple[str, str]:
    """(check, code) that decided a report of (name, status, code) checks: the first INVALID one,
    else the first ERROR one, else ("all", "VALID")."""
    checks = list(checks)
    for wanted in (Status.INVALID.value, Status.ERROR.value):
        for name, status, code in checks:
            if status == wanted:
                return name, code
    return "all", "VALID"


def count_report(report: Report, endpoint: str) -> None:
    check, code = deciding_check((c.name, c.status.value, c.code) for c in report.checks)
    VERIFICATIONS.labels(endpoint, report.verdict.value, check, code).inc()


def count_report_texts(reports: Iterable[str], endpoint: str) -> None:
    """The reports of a batch, as the JSON texts it answers: VALID ones told by their opening, the
    others (few, as a rule) read back."""
    valid, others = 0, []
    for text_ in reports:
        if text_.startswith(_VALID_PREFIX):
            valid += 1
        else:
            others.append(text_)
    if valid:
        VERIFICATIONS.labels(endpoint, "VALID", "all", "VALID").inc(valid)
    for text_ in others:
        report = json.loads(text_)
        check, code = deciding_check((c["name"], c["status"], c["code"]) for c in report["checks"])
        VERIFICATIONS.labels(endpoint, report["verdict"], check, code).inc()


class VerifierCollector(Collector):
    """Reachability, probed at scrape time: each chain's nodes (``rpc_urls``: chain id -> URLs), the
    content store, the index database (``engine``; None: not indexed here)."""

    def __init__(
        self,
        rpc_urls: Mapping[int, Iterable[str]],
        content_store=None,
        engine=None,
        rpc_timeout_s: float = 2.0,
    ):
        self.rpc_urls = {chain_id: tuple(urls) for chain_id, urls in rpc_urls.items()}
        self.content_store, self.engine, self.rpc_timeout_s = content_store, engine, rpc_timeout_s

    def collect(self) -> Iterator:
        started = time.perf_counter()
        chain = GaugeMetricFamily(
            "certledger_chain_reachable",
            "1 when a node of the chain answers eth_blockNumber, else 0",
            labels=["chain_id"],
        )
        for chain_id, urls in sorted(self.rpc_urls.items()):
            chain.add_metric([str(chain_id)], float(rpc_reachable(urls, self.rpc_timeout_s)))
        yield chain
        if self.content_store is not None:
            yield GaugeMetricFamily(
                "certledger_content_store_reachable",
                "1 when the content store (IPFS node or directory) answers, else 0",
                value=float(store_reachable(self.content_store)),
            )
        if self.engine is not None:
            yield GaugeMetricFamily(
                "certledger_database_reachable",
                "1 when the verifier's index database answers, else 0",
                value=float(_database_answers(self.engine)),
            )
        yield GaugeMetricFamily(
            "certledger_metrics_collect_seconds",
            "Time this scrape took to probe (the series above)",
            value=time.perf_counter() - started,
        )


def _database_answers(engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        return False


__all__ = ["VERIFICATIONS", "VerifierCollector", "count_report", "count_report_texts", "deciding_check"]
