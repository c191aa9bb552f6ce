"""The issuer's Prometheus metrics, served by ``issuer_api`` at ``/metrics`` (docs/operations.md, Monitoring).

Two kinds, for a service of several processes (uvicorn workers, and the anchorer in a process of its own):

* **Read at scrape time** (:class:`IssuanceCollector`): the credentials issued, anchored and
  waiting per agency, open batches, the oldest wait, and whether the chain node, the content store
  and the database answer. Counted from the database (and probed) by whichever worker answers the
  scrape, so every worker gives the same numbers, whichever process issued or anchored.
* **Observed as it happens** (the two histograms below): the anchoring delay of each credential and
  the size of each batch, observed by the process that confirms the batch (the anchorer). With
  ``PROMETHEUS_MULTIPROC_DIR`` set (``certledger serve issuer`` sets it) each process writes its
  own file there and a scrape sums them (prometheus-client's multiprocess mode).

Labels carry agency codes (public, on chain) and batch states, never a credential id or personal data.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ledger.chain.jsonrpc import rpc_reachable
from ledger.content.store import store_reachable
from ledger.storage.db import reading
from ledger.storage.states import ANCHORED_BATCH_STATES, OPEN_BATCH_STATES, BatchState
from ledger.storage.tables import AGENCY, BATCH, CRED

# issue time -> anchor time (the block's timestamp): batches close after seconds to minutes, and a
# chain outage holds them for as long as it lasts
DELAY_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 12 * 3600, 24 * 3600)
SIZE_BUCKETS = (1, 10, 50, 100, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000)

ANCHORING_DELAY = Histogram(
    "certledger_anchoring_delay_seconds",
    "Time from a credential's issue to its anchor (the anchoring block's timestamp), per credential",
    ["agency"],
    buckets=DELAY_BUCKETS,
)
BATCH_SIZE = Histogram(
    "certledger_batch_size",
    "Credentials per anchored batch (one anchor transaction each)",
    ["agency"],
    buckets=SIZE_BUCKETS,
)
_BATCH_STATE_NAMES = {BatchState.CLOSED: "closed", BatchState.SENT: "sent", BatchState.CONFIRMED: "confirmed"}


def observe_many(histogram, values: Iterable[float]) -> None:
    """``histogram.observe(v)`` for each value, with one update per bucket instead of one per value:
    in multiprocess mode each update is a locked write to a memory-mapped file; 100,000 delays (a
    batch of the maximum size) cost the anchorer 361-404 ms of CPU one by one, 13-18 ms here
    (2026-12-07, 2 cores under load). ``histogram`` is a labelled child.
    unit/test_metrics_logic.py holds the two equal."""
    bounds = histogram._upper_bounds  # prometheus-client's own: the buckets' upper bounds, +Inf last
    counts = [0] * len(bounds)
    total = 0.0
    for value in values:
        counts[bisect_left(bounds, value)] += 1  # the first bound >= value, as observe() picks it
        total += value
    for bucket, n in zip(histogram._buckets, counts):
        if n:
            bucket.inc(n)
    histogram._sum.inc(total)


def observe_anchored_batch(ctx, batch_id: int, agency: str, count: int, anchored_at: datetime) -> None:
    """The anchoring delay of each credential of a batch just confirmed, and the batch's size."""
    with reading(ctx.engine).connect() as conn:
        issued: Sequence[Any] = (
            conn.execute(select(CRED.c.issued_at).where(CRED.c.batch_id == batch_id)).scalars().all()
        )
    observe_many(ANCHORING_DELAY.labels(agency), (max(0.0, (anchored_at - _utc(at)).total_seconds()) for at in issued))
    BATCH_SIZE.labels(agency).observe(count)


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # SQLite gives back naive UTC


class IssuanceCollector(Collector):
    """The series read at scrape time (see the module's docstring). ``content_store``: the store
    shares go to; ``anchorer_running``: whether an anchoring worker runs (this process's thread or
    the background process's state file)."""

    def __init__(
        self,
        ctx,
        content_store=None,
        anchorer_running: Callable[[], bool] | None = None,
        rpc_timeout_s: float = 2.0,
    ):
        self.ctx, self.content_store, self.anchorer_running = ctx, content_store, anchorer_running
        self.rpc_timeout_s = rpc_timeout_s

    def collect(self) -> Iterator:
        started = time.perf_counter()
        try:
            counts = credential_counts(self.ctx)
        except SQLAlchemyError:
            counts = None
        yield from _count_families(counts, self.ctx.now())
        yield _gauge(
            "certledger_database_reachable", "1 when the issuer's database answers, else 0", counts is not None
        )
        yield _gauge(
            "certledger_chain_reachable",
            "1 when a configured chain node answers eth_blockNumber, else 0",
            rpc_reachable(self.ctx.chain.rpc_urls, self.rpc_timeout_s),
        )
        if self.content_store is not None:
            yield _gauge(
                "certledger_content_store_reachable",
                "1 when the content store (IPFS node or directory) answers, else 0",
                store_reachable(self.content_store),
            )
        if self.anchorer_running is not None:
            yield _gauge(
                "certledger_anchorer_running", "1 when an anchoring worker runs, else 0", self.anchorer_running()
            )
        yield _gauge(
            "certledger_metrics_collect_seconds",
            "Time this scrape took to count and probe (the series above)",
            time.perf_counter() - started,
        )


@dataclass
class AgencyCounts:
    issued: int = 0
    anchored: int = 0
    pending: int = 0  # issued, not anchored yet
    oldest_pending: datetime | None = None  # the issue time of the oldest of those

    def waiting_since(self, at) -> None:
        at = _utc(at)
        self.oldest_pending = at if self.oldest_pending is None else min(self.oldest_pending, at)


@dataclass
class CredentialCounts:
    agencies: dict[str, AgencyCounts]
    open_batches: dict[str, int]  # closed, sent, confirmed -> batches


def credential_counts(ctx) -> CredentialCounts:
    """Per agency: issued, anchored, pending (not yet anchored) and the issue time of the oldest
    pending credential; and the open batches by state. Read from the waiting credentials (a partial
    index holds exactly those) and the batch table (one row per batch), never by walking every
    credential: a batch's ``count`` is its credentials."""
    with reading(ctx.engine).connect() as conn:
        agencies: Sequence[Any] = conn.execute(select(AGENCY.c.code)).scalars().all()
        waiting: Sequence[Any] = conn.execute(
            select(CRED.c.agency_code, func.count(), func.min(CRED.c.issued_at))
            .where(CRED.c.batch_id.is_(None))
            .group_by(CRED.c.agency_code)
        ).all()
        batches: Sequence[Any] = conn.execute(
            select(
                BATCH.c.agency_code, BATCH.c.state, func.count(), func.coalesce(func.sum(BATCH.c.count), 0)
            ).group_by(BATCH.c.agency_code, BATCH.c.state)
        ).all()
        open_ids = select(BATCH.c.id).where(BATCH.c.state.in_(_NOT_ANCHORED))
        # leaf 0 of a batch is its oldest credential (leaves are in issuance order)
        oldest_batched: Sequence[Any] = conn.execute(
            select(CRED.c.agency_code, func.min(CRED.c.issued_at))
            .where(CRED.c.batch_id.in_(open_ids), CRED.c.leaf_index == 0)
            .group_by(CRED.c.agency_code)
        ).all()
    counts = CredentialCounts(
        {code: AgencyCounts() for code in agencies}, dict.fromkeys(_BATCH_STATE_NAMES.values(), 0)
    )
    for code, n, oldest in waiting:
        row = counts.agencies.setdefault(str(code), AgencyCounts())
        row.issued += int(n)
        row.pending += int(n)
        row.waiting_since(oldest)
    for code, state, n_batches, n in batches:
        row = counts.agencies.setdefault(str(code), AgencyCounts())
        row.issued += int(n)
        if state in ANCHORED_BATCH_STATES:
            row.anchored += int(n)
        else:
            row.pending += int(n)
        if state in OPEN_BATCH_STATES:
            counts.open_batches[_BATCH_STATE_NAMES[BatchState(str(state))]] += int(n_batches)
    for code, oldest in oldest_batched:
        counts.agencies.setdefault(str(code), AgencyCounts()).waiting_since(oldest)
    return counts


_NOT_ANCHORED = tuple(s for s in OPEN_BATCH_STATES if s not in ANCHORED_BATCH_STATES)


def _count_families(counts: CredentialCounts | None, now: datetime) -> Iterator:
    issued = CounterMetricFamily(
        "certledger_credentials_issued", "Credentials issued (stored, signed), per agency", labels=["agency"]
    )
    anchored = GaugeMetricFamily(
        "certledger_credentials_anchored",
        "Credentials whose batch root is on chain with enough confirmations, per agency",
        labels=["agency"],
    )
    pending = GaugeMetricFamily(
        "certledger_credentials_pending",
        "Credentials issued and not anchored yet (waiting for a batch, or in a batch not confirmed), per agency",
        labels=["agency"],
    )
    oldest = GaugeMetricFamily(
        "certledger_oldest_pending_seconds",
        "Age of the oldest credential not anchored yet, per agency (0: none waiting)",
        labels=["agency"],
    )
    open_batches = GaugeMetricFamily(
        "certledger_batches_open", "Batches not finished, by state (closed, sent, confirmed)", labels=["state"]
    )
    if counts is not None:  # the database did not answer: no counts rather than wrong ones
        for code, row in sorted(counts.agencies.items()):
            issued.add_metric([code], row.issued)
            anchored.add_metric([code], row.anchored)
            pending.add_metric([code], row.pending)
            waited = 0.0 if row.oldest_pending is None else (now - row.oldest_pending).total_seconds()
            oldest.add_metric([code], max(0.0, waited))
        for state, n in counts.open_batches.items():
            open_batches.add_metric([state], n)
    yield from (issued, anchored, pending, oldest, open_batches)


def _gauge(name: str, documentation: str, value: float | bool) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))


__all__ = [
    "ANCHORING_DELAY",
    "BATCH_SIZE",
    "AgencyCounts",
    "CredentialCounts",
    "IssuanceCollector",
    "credential_counts",
    "observe_anchored_batch",
    "observe_many",
]
