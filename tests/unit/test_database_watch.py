"""An unavailable database pauses the background loops (anchoring, the content retry queue): one
warning line per try with a growing, capped delay, no traceback, no credentials; a line when it is
back, and the loop goes on. Other errors keep their traceback. The database is a real one: a
PostgreSQL URL on a closed port (psycopg's own "connection refused"), then a SQLite file.
(The real restart, under the running service, is tests/reliability/test_database_restart.py.)"""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime
from types import SimpleNamespace

from sqlalchemy import select

from ledger.issuance.anchoring import LEASE_NAME, run_anchorer
from ledger.issuance.context import BatchPolicy
from ledger.issuance.database_watch import DatabaseWatch
from ledger.issuance.lease import LEASE
from ledger.issuance.sharing import ShareStore
from ledger.storage.db import init_database, make_engine

PASSWORD = "s3cret-db-pw"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unreachable_engine():
    return make_engine(f"postgresql://certledger:{PASSWORD}@127.0.0.1:{closed_port()}/ledger?password={PASSWORD}")


class Stop:
    """A stop event that records the pauses asked for and calls ``then(pauses)`` at each."""

    def __init__(self, then):
        self.pauses, self.then, self._set = [], then, False

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True

    def wait(self, seconds: float) -> bool:
        self.pauses.append(seconds)
        self.then(self)
        return self._set


def messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records]


def refused() -> Exception:
    """The error psycopg really raises for a database that does not answer."""
    try:
        with unreachable_engine().connect():
            pass
    except Exception as exc:  # noqa: BLE001
        return exc
    raise AssertionError("connected to a closed port")


def test_backoff_grows_to_the_cap_and_the_return_is_logged_once(caplog):
    now, outage = [0.0], refused()
    log = logging.getLogger("test.database_watch")
    watch = DatabaseWatch(unreachable_engine(), "anchoring", log, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="test.database_watch"):
        assert watch.after(None) is None and watch.after(ValueError("a bug")) is None  # nothing to say
        delays = []
        for _ in range(6):
            delays.append(watch.after(outage))
            now[0] += delays[-1]
        assert watch.after(ValueError("a bug")) is None  # not an outage (the caller logs it): the database answered
        assert watch.after(None) is None
        assert watch.after(outage) == 1  # a new outage starts from the first delay
    assert delays == [1, 2, 4, 8, 15, 15]
    lines = messages(caplog)
    assert len(lines) == 8 and all(r.exc_info is None for r in caplog.records)
    assert (
        lines[0].startswith("database postgresql://127.0.0.1:")
        and "/ledger unavailable (Connection refused)" in lines[0]
    )
    assert lines[6].endswith("reachable again after 45 s; anchoring resumes")
    assert not any(PASSWORD in line or "certledger" in line for line in lines)


def anchoring_context(engine):
    eth = SimpleNamespace(
        block_number=7, get_block=lambda n: {"number": 7, "hash": b"\1" * 32, "timestamp": 1_700_000_000}
    )
    chain = SimpleNamespace(w3=SimpleNamespace(eth=eth), rpc_urls=["http://127.0.0.1:8545"], reader=lambda: None)
    return SimpleNamespace(
        engine=engine,
        chain=chain,
        worker_id="unit-anchorer",
        policy=BatchPolicy(poll_interval_s=0.5),
        now=lambda: datetime.now(UTC),
    )


def test_anchoring_pauses_while_the_database_is_down_and_resumes(tmp_path, caplog):
    ctx = anchoring_context(unreachable_engine())
    lease_holders = []

    def then(stop):
        if len(stop.pauses) == 4:  # the database comes back
            ctx.engine = init_database(f"sqlite:///{tmp_path / 'ledger.db'}")
        elif len(stop.pauses) > 4:  # a round went through: it holds the anchoring lease
            with ctx.engine.connect() as conn:
                lease_holders.append(conn.execute(select(LEASE.c.holder).where(LEASE.c.name == LEASE_NAME)).scalar())
            stop.set()

    stop = Stop(then)
    with caplog.at_level(logging.INFO, logger="ledger.issuance.anchoring"):
        run_anchorer(ctx, stop)
    assert stop.pauses == [1, 2, 4, 8, 0.5]  # growing while down, then the normal poll interval
    assert lease_holders == ["unit-anchorer"]
    lines = messages(caplog)
    down = [line for line in lines if "unavailable (Connection refused)" in line]
    assert len(down) == 4 and all("anchoring paused; next try in" in line for line in down)
    assert sum("reachable again after" in line and line.endswith("anchoring resumes") for line in lines) == 1
    assert all(r.exc_info is None for r in caplog.records), [r.getMessage() for r in caplog.records if r.exc_info]
    assert not any(PASSWORD in line for line in lines)


def test_content_retries_pause_while_the_database_is_down_and_bugs_keep_their_traceback(tmp_path, caplog):
    ctx = SimpleNamespace(engine=unreachable_engine(), now=lambda: datetime.now(UTC))
    shares = ShareStore(ctx, content=None)
    pushed = []

    def then(stop):
        if len(stop.pauses) == 3:  # back: an empty queue
            ctx.engine = init_database(f"sqlite:///{tmp_path / 'ledger.db'}")
        elif len(stop.pauses) == 4:  # a bug in a round
            shares.push_pending = lambda: (pushed.append(1), 1 / 0)
        elif len(stop.pauses) == 5:
            stop.set()

    stop = Stop(then)
    with caplog.at_level(logging.WARNING, logger="ledger.issuance.sharing"):
        shares.run_retries(stop, interval_s=5.0)
    assert stop.pauses == [5, 5, 10, 5, 5] and pushed == [1]
    lines = messages(caplog)
    assert (
        sum("unavailable (Connection refused)" in line and "the content retry queue paused" in line for line in lines)
        == 2
    )
    assert sum(line.endswith("the content retry queue resumes") for line in lines) == 1
    failed = [r for r in caplog.records if r.exc_info]
    assert [r.getMessage() for r in failed] == ["content retry round failed"]
    assert failed[0].exc_info[0] is ZeroDivisionError
    assert not any(PASSWORD in line for line in lines)
