"""The issuance context: everything the library's functions need, passed in (no globals).

Routes and commands build one :class:`IssuanceContext` per process (``IssuanceContext.from_settings``)
and pass it to every call; tests build theirs from parts.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from ledger.issuance.chain_access import AgencyKeyring, ChainAccess
from ledger.issuance.merkle_cache import TreeCache
from ledger.issuance.status_slots import StatusSlots
from ledger.settings import LedgerEnvironment
from ledger.storage.at_rest import AtRestCipher

BundleHook = Callable[[str, bytes], None]
StepHook = Callable[[str], None]

# The steps of the anchoring pipeline ``IssuanceContext.on_step`` is called at, in pipeline order:
# ``after_seal`` (batch sealed and committed), ``before_send``, ``after_broadcast`` (transaction
# broadcast, its hash not yet recorded), ``after_send`` (hash recorded, state "sent"),
# ``after_receipt`` (receipt and confirmations in, not yet recorded), ``after_confirm`` (state
# "confirmed", bundles not yet delivered). The crash tests install a hook that kills the process at one.
ANCHORING_STEPS = ("after_seal", "before_send", "after_broadcast", "after_send", "after_receipt", "after_confirm")


def no_step(name: str) -> None:
    """The default step hook: nothing."""


def as_is(items):
    return items


@dataclass(frozen=True)
class BundleSink:
    """Where completed bundles go, a chunk ``[(credential id, bundle bytes), …]`` at a time, in two
    steps: ``prepare(chunk)``, which delivery may run in a forked worker process (so: no side
    effects but idempotent ones, such as writing a bundle file), then ``store(prepared)`` here, in
    delivery order. Delivery is at least once. ``store`` may return what it recorded (ShareStore:
    the shares recorded now, whose links open them)."""

    prepare: Callable[[list[tuple[str, bytes]]], Any]
    store: Callable[[Any], Any]


def utc_clock() -> datetime:
    return datetime.now(UTC)


def _worker_id() -> str:
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class BatchPolicy:
    """When the anchorer closes a batch, how it retries, and how it watches for reorganisations."""

    max_size: int = 10_000  # close as soon as this many credentials wait (per agency)
    max_age_s: float = 5.0  # ... or when the oldest has waited this long
    lease_ttl_s: float = 60.0  # the anchoring lease; renewed between steps
    poll_interval_s: float = 1.0  # run_anchorer's pause between rounds when idle
    retry_backoff_s: float = 2.0  # first retry delay after a failed send; doubles per attempt
    retry_backoff_max_s: float = 300.0
    status_chunk: int = 200  # credentials per revokeMany/suspendMany/reinstateMany transaction
    reorg_window_blocks: int = 64  # run_anchorer's reorganisation checks (ledger.issuance.reorg_watch)
    reorg_check_interval_s: float = 30.0

    def __post_init__(self) -> None:
        if self.max_size < 1 or self.max_size > 2**32 - 1:
            raise ValueError("max_size must be between 1 and 2**32-1")
        if self.max_age_s < 0 or self.lease_ttl_s <= 0:
            raise ValueError("max_age_s must be >= 0 and lease_ttl_s > 0")

    @classmethod
    def from_environment(cls, environment: LedgerEnvironment) -> BatchPolicy:
        """The defaults, with ``CERTLEDGER_BATCH_MAX_SIZE``, ``CERTLEDGER_BATCH_MAX_AGE_S`` and
        ``CERTLEDGER_ANCHOR_LEASE_TTL_S`` (after a kill -9 the next anchorer waits for the lease to expire),
        ``CERTLEDGER_REORG_WINDOW_BLOCKS`` and ``CERTLEDGER_REORG_CHECK_INTERVAL_S``."""
        return cls(
            max_size=environment.batch_max_size,
            max_age_s=environment.batch_max_age_s,
            lease_ttl_s=environment.anchor_lease_ttl_s,
            reorg_window_blocks=environment.reorg_window_blocks,
            reorg_check_interval_s=environment.reorg_check_interval_s,
        )


@dataclass
class IssuanceContext:
    engine: Engine
    at_rest: AtRestCipher
    chain: ChainAccess
    clock: Callable[[], datetime] = utc_clock
    policy: BatchPolicy = field(default_factory=BatchPolicy)
    store_bundle: BundleHook | None = None  # called with (credential id, bundle bytes) once anchored
    bundle_sink: BundleSink | None = None  # the same a chunk of bundles at a time (preferred when set)
    signing_workers: int = 0  # bulk signing processes: 0 one per core for large requests, 1 none
    worker_id: str = field(default_factory=_worker_id)
    trees: TreeCache = field(default_factory=TreeCache)
    status_base_url: str = (
        "http://127.0.0.1:8000/status"  # where the status lists are published (ledger.protocol.status_list)
    )
    status_slots: StatusSlots | None = None  # where credentials get their status-list slots; made from the engine
    on_step: StepHook = no_step  # called with each anchoring step's name (ANCHORING_STEPS) as it is reached

    def __post_init__(self) -> None:
        if self.status_slots is None:
            self.status_slots = StatusSlots(self.engine)

    def now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the clock must return aware (UTC) datetimes")
        return now

    @classmethod
    def from_settings(cls, settings, rpc_urls: list[str] | None = None, **kw) -> IssuanceContext:
        """The context of a data directory (``ledger.config.Settings``): its database, storage key,
        deployment and agency keys. ``rpc_urls`` defaults to the configured nodes (an embedded chain's
        URL is the caller's to find, e.g. ``App.rpc_urls()``)."""
        from ledger.chain import Deployment
        from ledger.governance import accounts
        from ledger.storage.at_rest import cipher_for_database
        from ledger.storage.db import init_database

        if not settings.deployment:
            raise ValueError("no contracts deployed for this configuration: run `certledger deploy`")
        passphrase = accounts.passphrase_for(settings)
        engine = init_database(settings.resolved_database_url)
        chain = ChainAccess(
            rpc_urls if rpc_urls is not None else settings.chain.rpc_urls,
            Deployment.from_dict(settings.deployment),
            AgencyKeyring.from_data_dir(Path(settings.data_dir), passphrase),
            confirmations=settings.chain.confirmations,
        )
        kw.setdefault("policy", BatchPolicy.from_environment(settings.environment))
        kw.setdefault("status_base_url", settings.status_base_url)
        return cls(engine=engine, at_rest=cipher_for_database(engine, passphrase), chain=chain, **kw)


__all__ = [
    "ANCHORING_STEPS",
    "BatchPolicy",
    "BundleHook",
    "BundleSink",
    "IssuanceContext",
    "StepHook",
    "as_is",
    "no_step",
    "utc_clock",
]
