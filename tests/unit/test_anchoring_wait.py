"""What /healthz says anchoring waits for (ledger.issuance.anchoring_wait), on a real SQLite lease table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from ledger.issuance import anchoring_wait
from ledger.issuance.anchoring import LEASE_NAME
from ledger.issuance.lease import acquire_lease, release_lease
from ledger.storage import init_database

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_the_reasons(tmp_path):
    engine = init_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    ctx = SimpleNamespace(engine=engine, now=lambda: NOW)  # anchoring_wait reads ctx.engine and ctx.now()
    assert anchoring_wait(ctx, "me", True) == {"waitingFor": None, "leaseSecondsLeft": None, "lease": None}
    assert anchoring_wait(ctx, None, None)["waitingFor"] == "anchorer"
    assert anchoring_wait(ctx, "me", False)["waitingFor"] == "chain"

    assert acquire_lease(engine, LEASE_NAME, "killed", 60, NOW - timedelta(seconds=20))
    wait = anchoring_wait(ctx, "me", True)
    assert wait == {"waitingFor": "lease", "leaseSecondsLeft": 40.0, "lease": {"holder": "killed", "secondsLeft": 40.0}}
    assert anchoring_wait(ctx, "me", False)["waitingFor"] == "chain"  # the node first: the lease would not help

    later = SimpleNamespace(engine=engine, now=lambda: NOW + timedelta(seconds=41))
    assert anchoring_wait(later, "me", True)["waitingFor"] is None  # lapsed

    assert acquire_lease(engine, LEASE_NAME, "me", 60, NOW + timedelta(seconds=41))  # ours once it lapsed
    assert anchoring_wait(later, "me", True) == {
        "waitingFor": None,
        "leaseSecondsLeft": None,
        "lease": {"holder": "me", "secondsLeft": 60.0},
    }
    release_lease(engine, LEASE_NAME, "me")
    assert anchoring_wait(later, "me", True)["lease"] is None
