"""Status lists end to end, on SQLite and PostgreSQL: index allocation (in order, never twice, under
two concurrent processes, after a kill -9, across full lists, fast), the publisher (exactly the
revoked and suspended bits, nothing re-signed without cause, re-signed before it expires, lists of
absent keys skipped), and — through a real `certledger serve issuer` on a real anvil — the public
route, the lag from a confirmed status change to the list served with its bit, and the export.

Credential rows are inserted directly: the issuance pipeline does not fill ``status_list_id`` /
``status_index`` yet."""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event, insert, select, update

from certledger.cli import main
from ledger.chain.embedded import rpc_urls_for
from ledger.config import load_settings
from ledger.governance.agency_keys import AgencyKeys
from ledger.issuance import AgencyKeyring, ChainAccess, IssuanceContext, reinstate, revoke, suspend
from ledger.issuance.errors import AgencyNotFound
from ledger.issuance.status_allocation import StatusRange, reserve, slots
from ledger.issuance.status_publisher import get_list_credential, list_credentials, publish, run_publisher
from ledger.protocol.digest import to_hex32
from ledger.protocol.keys import SigningKey
from ledger.protocol.merkle import MerkleTree
from ledger.protocol.proof import verify_proof
from ledger.protocol.status_list import LIST_SIZE, MEDIA_TYPE, check_list_credential, list_url
from ledger.storage.db import init_database
from ledger.storage.models import AgencyRecord, BatchRecord
from ledger.storage.tables import CRED, STATUS_LIST
from tests.integration.verifier_server import free_port, wait_healthy

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EDU, CIVIL = "zj-hz-education", "zj-hz-civil"
EDU_NAME = "杭州市教育局 Hangzhou Education Bureau"
BASE = "https://status.test/status"
NOW = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)
KEY_A, KEY_B, KEY_C = (SigningKey.from_seed(bytes([n]) * 32) for n in (1, 2, 3))
_serial = itertools.count(1)


# ------------------------------------------------------------------------------------ helpers


@pytest.fixture
def engine(database_url):
    engine = init_database(database_url)
    with engine.begin() as conn:
        conn.execute(
            insert(AgencyRecord.__table__),
            [
                {
                    "code": EDU,
                    "name": EDU_NAME,
                    "operator_address": "0x" + "11" * 20,
                    "signing_public_key": "0x" + KEY_A.public_key.raw.hex(),
                    "types": [],
                    "created_at": NOW,
                },
                {
                    "code": CIVIL,
                    "name": "杭州市民政局",
                    "operator_address": "0x" + "12" * 20,
                    "signing_public_key": "0x" + KEY_B.public_key.raw.hex(),
                    "types": [],
                    "created_at": NOW,
                },
            ],
        )
    yield engine
    engine.dispose()


def _ctx(engine, keys=None, base=BASE) -> IssuanceContext:
    keys = {EDU: KEY_A, CIVIL: KEY_B} if keys is None else keys
    keyring = AgencyKeyring.of({code: AgencyKeys(None, key) for code, key in keys.items()})
    return IssuanceContext(engine, None, ChainAccess([], None, keyring), clock=lambda: NOW, status_base_url=base)


def _credentials(engine, agency: str, ranges, state: str = "anchored", **extra) -> list[str]:
    """Credential rows in the reserved slots (the rest of a row as issuance would leave it)."""
    rows = []
    for list_id, index in slots(ranges):
        n = next(_serial)
        rows.append(
            {
                "id": f"urn:uuid:00000000-0000-4000-8000-{n:012d}",
                "agency_code": agency,
                "type_name": "T",
                "digest": f"0x{n:064x}",
                "state": state,
                "issued_at": NOW,
                "updated_at": NOW,
                "request_row": 0,
                "status_list_id": list_id,
                "status_index": index,
                **extra,
            }
        )
    with engine.begin() as conn:
        for k in range(0, len(rows), 10_000):
            conn.execute(insert(CRED), rows[k : k + 10_000])
    return [r["id"] for r in rows]


def _set_state(engine, agency: str, list_id: int, indexes, state: str, at: datetime = NOW) -> None:
    """What lifecycle records once the chain transaction is confirmed."""
    with engine.begin() as conn:
        conn.execute(
            update(CRED)
            .where(
                CRED.c.agency_code == agency, CRED.c.status_list_id == list_id, CRED.c.status_index.in_(list(indexes))
            )
            .values(state=state, status_reason=0, updated_at=at)
        )


def _bits(
    engine, agency: str, list_id: int, purpose: str, base: str = BASE, now: datetime = NOW + timedelta(hours=1)
) -> list[int]:
    stored = get_list_credential(engine, agency, list_id, purpose)
    view = check_list_credential(
        json.loads(stored.body), url=list_url(base, agency, list_id, purpose), purpose=purpose, now=now
    )
    return view.set_indexes()


# ------------------------------------------------------------------------------------ allocation


def test_indexes_are_handed_out_in_order_and_never_twice(engine):
    key = KEY_A.public_key.raw
    assert reserve(engine, EDU, key, 1) == [StatusRange(1, 0, 1)]
    assert reserve(engine, EDU, key, 3) == [StatusRange(1, 1, 3)]
    assert reserve(engine, EDU, key, 0) == []
    got = reserve(engine, EDU, key, 2)
    assert got == [StatusRange(1, 4, 2)] and list(slots(got)) == [(1, 4), (1, 5)]
    with engine.connect() as conn:
        assert conn.execute(
            select(STATUS_LIST.c.list_id, STATUS_LIST.c.public_key, STATUS_LIST.c.size, STATUS_LIST.c.next_index)
        ).all() == [(1, "0x" + key.hex(), LIST_SIZE, 6)]


def test_each_key_fills_its_own_lists_numbered_per_agency(engine):
    assert reserve(engine, EDU, KEY_A.public_key.raw, 5) == [StatusRange(1, 0, 5)]
    assert reserve(engine, EDU, KEY_C.public_key.raw, 2) == [StatusRange(2, 0, 2)]  # another key of EDU
    assert reserve(engine, EDU, KEY_A.public_key.raw, 1) == [StatusRange(1, 5, 1)]
    assert reserve(engine, CIVIL, KEY_B.public_key.raw, 1) == [StatusRange(1, 0, 1)]  # per agency, from 1


def test_a_full_list_is_followed_by_the_next(engine):
    key = KEY_A.public_key.raw
    assert reserve(engine, EDU, key, LIST_SIZE - 2) == [StatusRange(1, 0, LIST_SIZE - 2)]
    assert reserve(engine, EDU, key, 5) == [StatusRange(1, LIST_SIZE - 2, 2), StatusRange(2, 0, 3)]
    assert reserve(engine, EDU, KEY_C.public_key.raw, 1) == [StatusRange(3, 0, 1)]
    big = reserve(engine, EDU, key, 2 * LIST_SIZE + 10)
    assert big == [StatusRange(2, 3, LIST_SIZE - 3), StatusRange(4, 0, LIST_SIZE), StatusRange(5, 0, 13)]
    assert sum(r.count for r in big) == 2 * LIST_SIZE + 10


def test_a_reservation_lost_to_a_crash_stays_unused(engine):
    key = KEY_A.public_key.raw
    reserve(engine, EDU, key, 10)  # reserved, then the process "crashed" before signing: dropped
    assert reserve(engine, EDU, key, 1) == [StatusRange(1, 10, 1)]


_CHILD = """
import sys
from ledger.storage.db import make_engine
from ledger.issuance.status_allocation import reserve
engine = make_engine(sys.argv[1])
key = bytes.fromhex(sys.argv[2])
while True:
    for r in reserve(engine, "zj-hz-education", key, 7):
        print(r.list_id, r.start, r.count, flush=True)
"""


def test_a_process_killed_while_reserving_never_gets_its_indexes_handed_out_again(engine):
    """kill -9 of a process reserving in a loop: whatever it reserved (printed or not) stays its own."""
    url = engine.url.render_as_string(hide_password=False)
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, url, KEY_A.public_key.raw.hex()], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    seen = []
    try:
        while len(seen) < 30:
            line = child.stdout.readline()
            assert line, "the reserving process stopped"
            seen.append(tuple(map(int, line.split())))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    seen += [tuple(map(int, line.split())) for line in child.stdout.read().splitlines() if line.strip()]
    after = reserve(engine, EDU, KEY_A.public_key.raw, 3)
    assert after[0].list_id == 1 and after[0].start >= max(start + count for _, start, count in seen)
    taken = [i for _, start, count in seen for i in range(start, start + count)]
    assert len(taken) == len(set(taken)) and taken == list(range(len(taken)))


_RESERVER = """
import json, random, sys, time
from pathlib import Path
from ledger.storage.db import make_engine
from ledger.issuance.status_allocation import reserve
url, key, seed, out, go = sys.argv[1:]
engine = make_engine(url)
rng = random.Random(int(seed))
engine.connect().close()
Path(out + ".ready").touch()
while not Path(go).exists():      # both start together
    time.sleep(0.001)
got = []
for _ in range(100):
    got += [[r.list_id, r.start, r.count] for r in reserve(engine, "zj-hz-education", bytes.fromhex(key),
                                                              rng.randint(1, 40), size=512)]
json.dump(got, open(out, "w"))
"""


def test_two_processes_reserving_at_once_never_get_the_same_index(engine, tmp_path):
    """Small lists (512 entries) so that both processes also open new lists at once."""
    url = engine.url.render_as_string(hide_password=False)
    outs = [tmp_path / f"reserved-{n}.json" for n in (1, 2)]
    go = tmp_path / "go"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _RESERVER, url, KEY_A.public_key.raw.hex(), str(n), str(out), str(go)], cwd=ROOT
        )
        for n, out in enumerate(outs)
    ]
    deadline = time.monotonic() + 120
    while not all(Path(f"{out}.ready").exists() for out in outs):
        assert time.monotonic() < deadline and all(c.poll() is None for c in children), "a reserver did not start"
        time.sleep(0.01)
    go.touch()
    for child in children:
        assert child.wait(timeout=240) == 0
    ranges = [tuple(r) for out in outs for r in json.loads(out.read_text())]
    taken = [(list_id, i) for list_id, s, c in ranges for i in range(s, s + c)]
    assert len(taken) == len(set(taken)), "an index was handed out twice"
    by_list: dict[int, list[int]] = {}
    for list_id, index in taken:
        by_list.setdefault(list_id, []).append(index)
    ids = sorted(by_list)
    assert ids == list(range(1, len(ids) + 1)) and len(ids) > 4  # lists numbered 1, 2, … with no gap
    for list_id in ids[:-1]:
        assert sorted(by_list[list_id]) == list(range(512)), f"list {list_id} is not filled exactly"
    assert sorted(by_list[ids[-1]]) == list(range(len(by_list[ids[-1]])))
    with engine.connect() as conn:
        sizes = dict(conn.execute(select(STATUS_LIST.c.list_id, STATUS_LIST.c.next_index)).all())
    assert sizes[ids[-1]] == len(by_list[ids[-1]])


def test_reserving_costs_per_list_not_per_index(engine, capsys):
    key = KEY_A.public_key.raw
    times = []
    for _ in range(3):
        started = time.perf_counter()
        got = reserve(engine, EDU, key, 100_000)
        times.append(time.perf_counter() - started)
        assert sum(r.count for r in got) == 100_000
    with capsys.disabled():
        print(
            f"\nreserve 100,000 indexes ({engine.dialect.name}): " + ", ".join(f"{t * 1000:.1f}" for t in times) + " ms"
        )
    assert max(times) < 1.0


def test_refusals(engine):
    with pytest.raises(AgencyNotFound):
        reserve(engine, "no-such-agency", KEY_A.public_key.raw, 1)
    with pytest.raises(ValueError):
        reserve(engine, EDU, b"short", 1)
    with pytest.raises(ValueError):
        reserve(engine, EDU, KEY_A.public_key.raw, -1)


# ------------------------------------------------------------------------------------ publisher


def test_published_lists_have_exactly_the_revoked_and_suspended_bits(engine):
    edu = _credentials(engine, EDU, reserve(engine, EDU, KEY_A.public_key.raw, 50))
    _credentials(engine, CIVIL, reserve(engine, CIVIL, KEY_B.public_key.raw, 3))
    with engine.begin() as conn:  # issued before v2: no list, never listed
        n = next(_serial)
        conn.execute(
            insert(CRED).values(
                id=f"urn:uuid:00000000-0000-4000-8000-{n:012d}",
                agency_code=EDU,
                type_name="T",
                digest=f"0x{n:064x}",
                state="revoked",
                status_reason=0,
                issued_at=NOW,
                updated_at=NOW,
                request_row=0,
            )
        )
    _set_state(engine, EDU, 1, [0, 7, 8, 49], "revoked")
    _set_state(engine, EDU, 1, [3, 20], "suspended")
    _set_state(engine, CIVIL, 1, [2], "revoked")
    report = publish(_ctx(engine))
    assert sorted(report.signed) == sorted(
        [
            (EDU, 1, "revocation", "new"),
            (EDU, 1, "suspension", "new"),
            (CIVIL, 1, "revocation", "new"),
            (CIVIL, 1, "suspension", "new"),
        ]
    )
    assert (report.lists, report.newly_set, report.skipped) == (2, 7, [])
    assert _bits(engine, EDU, 1, "revocation") == [0, 7, 8, 49]
    assert _bits(engine, EDU, 1, "suspension") == [3, 20]
    assert _bits(engine, CIVIL, 1, "revocation") == [2] and _bits(engine, CIVIL, 1, "suspension") == []
    document = json.loads(get_list_credential(engine, EDU, 1, "revocation").body)
    assert verify_proof(document).public_key == KEY_A.public_key
    assert document["issuer"] == {
        "id": KEY_A.public_key.did,
        "name": EDU_NAME,
        "agency": f"urn:certledger:agency:{EDU}",
    }
    assert (document["validFrom"], document["validUntil"]) == ("2026-12-07T12:00:00Z", "2026-12-08T12:00:00Z")
    assert len(edu) == 50


def test_unchanged_bits_are_not_re_signed_and_changes_are(engine):
    ctx = _ctx(engine)
    _credentials(engine, EDU, reserve(engine, EDU, KEY_A.public_key.raw, 10))
    _set_state(engine, EDU, 1, [1], "revoked")
    _set_state(engine, EDU, 1, [2], "suspended")
    publish(ctx)
    before = {s.purpose: s for s in list_credentials(engine)}
    again = publish(ctx, now=NOW + timedelta(minutes=1))
    assert (again.signed, again.unchanged) == ([], 2)
    assert {s.purpose: s for s in list_credentials(engine)} == before

    changed_at = NOW + timedelta(minutes=2)
    _set_state(engine, EDU, 1, [5], "revoked", at=changed_at)
    report = publish(ctx, now=changed_at + timedelta(seconds=3))
    assert report.signed == [(EDU, 1, "revocation", "status changed")]
    assert (report.newly_set, report.cleared, report.max_lag_s) == (1, 0, 3.0)
    assert _bits(engine, EDU, 1, "revocation", now=changed_at + timedelta(minutes=1)) == [1, 5]
    assert get_list_credential(engine, EDU, 1, "suspension") == before["suspension"]

    _set_state(engine, EDU, 1, [2], "anchored", at=changed_at)  # the suspension lifted
    report = publish(ctx, now=changed_at + timedelta(seconds=4))
    assert (report.signed, report.cleared) == ([(EDU, 1, "suspension", "status changed")], 1)
    assert _bits(engine, EDU, 1, "suspension", now=changed_at + timedelta(minutes=1)) == []


def test_a_list_near_its_valid_until_is_re_signed(engine):
    ctx = _ctx(engine)
    _credentials(engine, EDU, reserve(engine, EDU, KEY_A.public_key.raw, 3))
    publish(ctx)
    assert publish(ctx, now=NOW + timedelta(hours=11, minutes=59)).signed == []
    later = NOW + timedelta(hours=12, seconds=1)
    report = publish(ctx, now=later)
    assert sorted(report.signed) == [(EDU, 1, "revocation", "expiring"), (EDU, 1, "suspension", "expiring")]
    document = json.loads(get_list_credential(engine, EDU, 1, "revocation").body)
    assert (document["validFrom"], document["validUntil"]) == ("2026-12-08T00:00:01Z", "2026-12-09T00:00:01Z")
    check_list_credential(document, now=NOW + timedelta(hours=30))


def test_force_a_new_base_url_or_a_new_name_re_sign(engine):
    _credentials(engine, EDU, reserve(engine, EDU, KEY_A.public_key.raw, 3))
    publish(_ctx(engine))
    assert len(publish(_ctx(engine), now=NOW + timedelta(seconds=1), force=True).signed) == 2
    moved = publish(_ctx(engine, base="https://cdn.test/lists"), now=NOW + timedelta(seconds=2))
    assert {why for *_, why in moved.signed} == {"moved or renamed"}
    assert (
        json.loads(get_list_credential(engine, EDU, 1, "revocation").body)["id"]
        == "https://cdn.test/lists/zj-hz-education/1/revocation"
    )
    with engine.begin() as conn:
        conn.execute(update(AgencyRecord.__table__).where(AgencyRecord.__table__.c.code == EDU).values(name="新名"))
    renamed = publish(_ctx(engine, base="https://cdn.test/lists"), now=NOW + timedelta(seconds=3))
    assert len(renamed.signed) == 2
    assert json.loads(get_list_credential(engine, EDU, 1, "revocation").body)["issuer"]["name"] == "新名"


def test_an_older_reading_never_replaces_a_newer_one(engine):
    _credentials(engine, EDU, reserve(engine, EDU, KEY_A.public_key.raw, 3))
    publish(_ctx(engine), now=NOW + timedelta(hours=1))
    newer = get_list_credential(engine, EDU, 1, "revocation")
    publish(_ctx(engine), now=NOW, force=True)  # e.g. a second publisher that read the states earlier
    assert get_list_credential(engine, EDU, 1, "revocation") == newer


def test_a_list_whose_key_is_not_here_is_skipped_with_a_warning(engine, caplog, monkeypatch):
    from ledger.issuance import status_publisher

    monkeypatch.setattr(status_publisher, "_warned", set())  # warned once per process: this test's first
    _credentials(engine, EDU, reserve(engine, EDU, KEY_A.public_key.raw, 2))
    _credentials(engine, EDU, reserve(engine, EDU, KEY_C.public_key.raw, 2))  # list 2: an older key of EDU
    _credentials(engine, CIVIL, reserve(engine, CIVIL, KEY_B.public_key.raw, 2))
    with caplog.at_level(logging.WARNING, logger="ledger.issuance.status_publisher"):
        report = publish(_ctx(engine, keys={EDU: KEY_A}))  # no key of CIVIL's here at all
    assert [(a, n) for a, n, _ in report.skipped] == [(CIVIL, 1), (EDU, 2)]
    assert sorted((a, n, p) for a, n, p, _ in report.signed) == [(EDU, 1, "revocation"), (EDU, 1, "suspension")]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"{EDU}/2 not published" in w and KEY_C.public_key.raw.hex() in w for w in warnings)
    assert any(f"{CIVIL}/1 not published" in w for w in warnings)
    assert get_list_credential(engine, EDU, 2, "revocation") is None


def _captured(engine, action) -> list[tuple[str, object]]:
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "status_list_id" in statement and statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return statements


def test_the_publisher_reads_a_list_through_its_partial_index(engine):
    _credentials(engine, EDU, reserve(engine, EDU, KEY_A.public_key.raw, 300))
    _set_state(engine, EDU, 1, [4, 9], "revoked")
    statements = _captured(engine, lambda: publish(_ctx(engine)))
    assert statements
    for statement, parameters in statements:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                plan = "\n".join(
                    str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
                )
            else:
                conn.exec_driver_sql("SET enable_seqscan = off")
                plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters).all())
        assert "ix_credential_status_list" in plan, f"{statement}\n{plan}"


def test_publish_time_of_a_full_list_with_1000_set_bits(engine, capsys):
    """131,072 credentials in one list, 1,000 of them revoked: the round that publishes it, then one
    after another revocation, then one with nothing to do."""
    _credentials(engine, EDU, reserve(engine, EDU, KEY_A.public_key.raw, LIST_SIZE))
    revoked = sorted(random.Random(7).sample(range(LIST_SIZE), 1001))
    _set_state(engine, EDU, 1, revoked[:1000], "revoked")
    ctx = _ctx(engine)
    first = publish(ctx)
    _set_state(engine, EDU, 1, revoked[1000:], "revoked")
    second = publish(ctx, now=NOW + timedelta(seconds=5))
    idle = publish(ctx, now=NOW + timedelta(seconds=10))
    assert _bits(engine, EDU, 1, "revocation") == revoked
    assert (len(first.signed), len(second.signed), len(idle.signed)) == (2, 1, 0)
    with capsys.disabled():
        print(
            f"\npublish, a list of {LIST_SIZE:,} entries with 1,000 revoked ({engine.dialect.name}): "
            f"first {first.duration_s * 1000:.1f} ms (both purposes signed), one more revoked "
            f"{second.duration_s * 1000:.1f} ms, nothing changed {idle.duration_s * 1000:.1f} ms"
        )
    assert first.duration_s < 5 and second.duration_s < 5


def test_run_publisher_publishes_until_stopped(engine):
    ctx = _ctx(engine)
    ctx.clock = lambda: datetime.now(UTC)
    _credentials(engine, EDU, reserve(engine, EDU, KEY_A.public_key.raw, 5))
    stop = threading.Event()
    worker = threading.Thread(target=run_publisher, args=(ctx, stop, 0.1), daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while get_list_credential(engine, EDU, 1, "revocation") is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        _set_state(engine, EDU, 1, [3], "revoked", at=datetime.now(UTC))
        while _bits(engine, EDU, 1, "revocation", now=datetime.now(UTC)) != [3]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()


# ------------------------------------------------------------- a real issuer service on a real chain


def _cli(home, *args) -> None:
    assert main(["--data-dir", str(home), *args]) == 0, args


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A data directory with a deployed chain and the agency EDU, four anchored credentials in list 1
    (inserted directly, anchored on chain), and `certledger serve issuer` (anchorer, publisher) on it."""
    home = tmp_path_factory.mktemp("status-served") / "home"
    port = free_port()
    base = f"http://127.0.0.1:{port}/status"
    saved = os.environ.get("CERTLEDGER_STATUS_BASE_URL")
    os.environ["CERTLEDGER_STATUS_BASE_URL"] = base  # the service's and the export's
    server = ctx = None
    try:
        for args in (["init", "--port", "0"], ["chain", "up"], ["deploy"]):
            _cli(home, *args)
        _cli(home, "agency", "register", EDU, "--name", EDU_NAME, "--types", "DegreeCertificate")
        config = load_settings(home)
        ctx = IssuanceContext.from_settings(config, rpc_urls_for(config))
        assert ctx.status_base_url == base
        ids = _anchored_in_a_list(ctx, 4)
        log = home.parent / "issuer.log"
        with log.open("w") as out:
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "import sys; from certledger.cli import main; sys.exit(main(sys.argv[1:]))",
                    "--data-dir",
                    str(home),
                    "serve",
                    "issuer",
                    "--port",
                    str(port),
                ],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "CERTLEDGER_RUN_ANCHORER": "1"},
            )
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        wait_healthy(client, server, log.read_text, "the issuer", timeout_s=90)
        deadline = time.monotonic() + 60  # the publisher's first round
        while client.get(f"/status/{EDU}/1/suspension").status_code != 200:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        yield {"client": client, "ctx": ctx, "ids": ids, "base": base, "home": home, "log": log}
        client.close()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if ctx is not None:
            ctx.engine.dispose()
        if saved is None:
            os.environ.pop("CERTLEDGER_STATUS_BASE_URL", None)
        else:
            os.environ["CERTLEDGER_STATUS_BASE_URL"] = saved
        main(["--data-dir", str(home), "chain", "down"])


def _anchored_in_a_list(ctx, count: int) -> list[str]:
    """Credentials with status slots, their batch anchored on chain and recorded as the pipeline would."""
    ranges = reserve(ctx.engine, EDU, ctx.chain.signing_key(EDU).public_key.raw, count)
    digests = [os.urandom(32) for _ in range(count)]
    tree = MerkleTree.build(digests)
    sent = ctx.chain.ledger(EDU).anchor(tree.root, count)
    now = datetime.now(UTC)
    with ctx.engine.begin() as conn:
        batch_id = conn.execute(
            insert(BatchRecord.__table__).values(
                agency_code=EDU,
                root=to_hex32(tree.root),
                count=count,
                state="completed",
                tx_hash=sent.tx_hash,
                block_number=sent.block_number,
                anchored_at=now,
                attempts=0,
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]
    ids = []
    for leaf, ((list_id, index), digest) in enumerate(zip(slots(ranges), digests)):
        n = next(_serial)
        ids.append(f"urn:uuid:00000000-0000-4000-9000-{n:012d}")
        with ctx.engine.begin() as conn:
            conn.execute(
                insert(CRED).values(
                    id=ids[-1],
                    agency_code=EDU,
                    type_name="DegreeCertificate",
                    digest=to_hex32(digest),
                    state="anchored",
                    batch_id=batch_id,
                    leaf_index=leaf,
                    issued_at=now,
                    updated_at=now,
                    request_row=leaf,
                    status_list_id=list_id,
                    status_index=index,
                )
            )
    return ids


def _served_bits(client, base: str, purpose: str, verify: bool = False) -> list[int]:
    reply = client.get(f"/status/{EDU}/1/{purpose}")
    assert reply.status_code == 200, reply.text
    return check_list_credential(
        reply.json(), url=f"{base}/{EDU}/1/{purpose}", purpose=purpose, verify=verify
    ).set_indexes()


def _lag(served, action, purpose: str, expected: list[int]) -> float:
    """Seconds from the moment ``action`` returns (the chain transaction confirmed and the state
    recorded) to the first answer of the route showing ``expected``."""
    client = served["client"]
    action()
    changed = time.monotonic()
    while _served_bits(client, served["base"], purpose) != expected:
        assert time.monotonic() - changed < 60, "the change did not reach the served list within 60 s"
        time.sleep(0.02)
    return time.monotonic() - changed


def test_a_confirmed_status_change_is_served_within_60_s(served, capsys):
    ctx, ids, client = served["ctx"], served["ids"], served["client"]
    with ctx.engine.connect() as conn:
        index = dict(conn.execute(select(CRED.c.id, CRED.c.status_index).where(CRED.c.id.in_(ids))).all())
    lags = {
        "revoke": _lag(served, lambda: revoke(ctx, EDU, ids[0], 2), "revocation", [index[ids[0]]]),
        "suspend": _lag(served, lambda: suspend(ctx, EDU, ids[1]), "suspension", [index[ids[1]]]),
        "reinstate": _lag(served, lambda: reinstate(ctx, EDU, ids[1]), "suspension", []),
    }
    assert _served_bits(client, served["base"], "revocation", verify=True) == [index[ids[0]]]
    with capsys.disabled():
        print(
            "\nstatus-list lag, confirmed change (lifecycle returned) -> served by `serve issuer` (publisher every "
            "5 s): " + ", ".join(f"{k} {v:.2f} s" for k, v in lags.items())
        )
    assert max(lags.values()) < 60


def test_a_credential_issued_through_the_pipeline_points_at_its_served_list(served, capsys):
    """Issued by ``issue_one`` (which reserves its slot), anchored by the service's anchorer: its two
    entries name one list and index, the list served there has the credential's issuer, and the
    revocation bit appears once the revocation is confirmed."""
    from ledger.issuance import get_bundle, get_credential_info, issue_one
    from ledger.protocol.status_list import parse_status_entry
    from tests.integration.conftest import degree

    ctx, client, base = served["ctx"], served["client"], served["base"]
    issued = issue_one(ctx, EDU, "DegreeCertificate", degree("状态表"))
    deadline = time.monotonic() + 90
    while get_credential_info(ctx, EDU, issued.id).state != "anchored":
        assert time.monotonic() < deadline, "not anchored by the service"
        time.sleep(0.2)
    credential = get_bundle(ctx, EDU, issued.id).credential
    entries = [parse_status_entry(e) for e in credential["credentialStatus"]]
    assert [e.purpose for e in entries] == ["revocation", "suspension"]
    assert len({(e.list_url.rsplit("/", 1)[0], e.index) for e in entries}) == 1
    revocation = entries[0]
    assert revocation.list_url.startswith(base + "/")
    path = "/status/" + revocation.list_url[len(base) + 1 :]

    def served_list():
        reply = client.get(path)
        assert reply.status_code == 200, reply.text
        return check_list_credential(reply.json(), url=revocation.list_url, purpose="revocation")

    deadline = time.monotonic() + 60
    while True:  # the list may be new (a list is published from the round after its first slot)
        reply = client.get(path)
        if reply.status_code == 200:
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    listed = served_list()
    assert listed.issuer == credential["issuer"] and not listed.is_set(revocation.index)
    revoke(ctx, EDU, issued.id, 2)
    changed = time.monotonic()
    while not served_list().is_set(revocation.index):
        assert time.monotonic() - changed < 60, "the revocation did not reach the served list within 60 s"
        time.sleep(0.02)
    with capsys.disabled():
        print(
            f"\nstatus-list lag, a credential issued through the pipeline, revoked: {time.monotonic() - changed:.2f} s"
        )


def test_the_route_is_public_cached_and_conditional(served):
    client, base = served["client"], served["base"]
    for headers in ({}, {"Authorization": "Bearer clk_000000000000_" + "x" * 43}, {"Authorization": "Basic eDp5"}):
        reply = client.get(f"/status/{EDU}/1/revocation", headers=headers)
        assert reply.status_code == 200
        assert reply.headers["content-type"] == MEDIA_TYPE
        assert reply.headers["cache-control"] == "public, max-age=60"
        assert reply.headers["access-control-allow-origin"] == "*"
        check_list_credential(
            reply.json(), url=f"{base}/{EDU}/1/revocation", purpose="revocation", now=datetime.now(UTC)
        )
    etag = reply.headers["etag"]
    for condition in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = client.get(f"/status/{EDU}/1/revocation", headers={"If-None-Match": condition})
        assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    assert client.get(f"/status/{EDU}/1/revocation", headers={"If-None-Match": '"other"'}).status_code == 200
    assert etag.startswith('"') and etag.endswith('"')


@pytest.mark.parametrize(
    "path,field",
    [
        (f"/status/{EDU}/2/revocation", "list_id"),
        (f"/status/{EDU}/01/revocation", "list_id"),
        (f"/status/{EDU}/0/revocation", "list_id"),
        (f"/status/{EDU}/-1/revocation", "list_id"),
        (f"/status/{EDU}/abc/revocation", "list_id"),
        (f"/status/{EDU}/99999999999/revocation", "list_id"),
        (f"/status/{EDU}/1/refresh", "purpose"),
        (f"/status/{EDU}/1/Revocation", "purpose"),
        ("/status/zj-hz-unknown/1/revocation", "list_id"),
        ("/status/NOT_AN_AGENCY/1/revocation", "agency"),
    ],
)
def test_unknown_or_malformed_lists_are_404_naming_the_field(served, path, field):
    reply = served["client"].get(path)
    assert reply.status_code == 404, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    problem = reply.json()
    assert problem["code"] == "STATUS_LIST_NOT_FOUND" and problem["errors"][0]["field"] == field
    assert problem["detail"].startswith(field)


def test_the_route_takes_no_writes_and_is_documented(served):
    client = served["client"]
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        reply = client.request(method, f"/status/{EDU}/1/revocation", content=b"{}")
        assert (reply.status_code, reply.json()["code"]) == (405, "METHOD_NOT_ALLOWED")
    operation = client.get("/openapi.json").json()["paths"]["/status/{agency}/{list_id}/{purpose}"]
    assert set(operation) == {"get"}
    responses = operation["get"]["responses"]
    assert MEDIA_TYPE in responses["200"]["content"] and "304" in responses and "404" in responses
    assert "security" not in operation["get"]


def test_export_writes_the_tree_the_urls_name(served, tmp_path, capsys):
    home, base, client = served["home"], served["base"], served["client"]
    out = tmp_path / "site"
    (out / EDU / "1").mkdir(parents=True)
    (out / EDU / "1" / "revocation").write_text("stale")  # an earlier export's file
    capsys.readouterr()
    assert main(["--data-dir", str(home), "status-lists", "export", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert [p.relative_to(out).as_posix() for p in files] == [f"{EDU}/1/revocation", f"{EDU}/1/suspension"]
    for path in files:
        rel = path.relative_to(out).as_posix()
        url = f"{base}/{rel}"
        document = json.loads(path.read_text("utf-8"))
        assert check_list_credential(document, url=url, purpose=path.name).url == url
        assert document == client.get(f"/status/{rel}").json()
        assert str(path) in printed
    assert not [p for p in out.rglob(".*")]  # no temporary file left behind
