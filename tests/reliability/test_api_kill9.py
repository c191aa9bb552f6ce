"""kill -9 of the issuer service while clients issue through the HTTP API (issue #4, "Must show").

2,000 credentials are issued by 8 client threads, each request with its own Idempotency-Key, while
the service (the issuer app under uvicorn in ONE process that serves and anchors, so a crash
point takes the whole service down with the batch in flight) kills itself with
SIGKILL at one step of the anchoring pipeline after another (a step hook, tests.integration.crash_hooks): before the
anchor transaction is sent, after it is sent (before its receipt), after the receipt (before the
batch is confirmed), after the confirmation (before its bundles are written). After each kill the service is started again with the
next point, and finally with none. A client whose request fails because the service died sends THE
SAME request with THE SAME key again until it gets an answer.

Then: exactly 2,000 credentials, one per key, and each key's id is the one its client was given;
one Anchored event per batch root on this fresh deployment; every credential in exactly one
completed batch; every bundle fetched through the API verifies VALID. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.integration.postgres import database_url, postgres_server, postgres_url  # noqa: F401 - fixtures
from tests.reliability.issuer_process import (
    DEGREE,
    IssuerProcess,
    Verdict,
    anchored_roots,
    anchoring_held,
    chain_down,
    degree_subject,
    idempotency_records,
    make_home,
    onboard,
    stored_batches,
    verifier_for,
    wait_anchored,
)

TOTAL = 2_000
CLIENTS = 8
STEP = 150  # credentials issued in each run before its anchorer may act
KILLS = ("before_send", "after_send", "after_receipt", "after_confirm")
POLICY = {
    "CERTLEDGER_BATCH_MAX_SIZE": "250",
    "CERTLEDGER_BATCH_MAX_AGE_S": "1",
    # a killed anchorer's lease expires soon, so the restarted service anchors again quickly
    "CERTLEDGER_ANCHOR_LEASE_TTL_S": "2",
}


class Clients:
    """CLIENTS threads issuing TOTAL credentials; request i has key kill9-i and a subject of its own.
    A request that gets no answer (the service died) or a 503 is sent again, unchanged."""

    def __init__(self, base_url: str, api_key: str):
        self.base_url, self.auth = base_url, {"Authorization": f"Bearer {api_key}"}
        self.ids: dict[str, str] = {}  # key -> the id the client was given
        self.statuses: Counter = Counter()  # 201 first issue, 200 replay of a committed request
        self.retries = 0  # requests sent again after no answer / 503
        self.unexpected: list[str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(CLIENTS)]
        self.deadline = time.monotonic() + 240

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.issued < count:
            assert time.monotonic() < deadline, f"only {self.issued} of {count} issued; {self.unexpected[:3]}"
            time.sleep(0.1)

    def join(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, end - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), f"clients still running; {len(self.ids)} issued"

    @property
    def issued(self) -> int:
        with self.lock:
            return len(self.ids)

    def _run(self, n: int) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            for i in range(n, TOTAL, CLIENTS):
                key = f"kill9-{i}"
                body = {"type": DEGREE, "subject": degree_subject(i)}
                while time.monotonic() < self.deadline:
                    try:
                        reply = client.post("/credentials", json=body, headers={**self.auth, "Idempotency-Key": key})
                    except httpx.TransportError:  # refused, reset, or cut off mid-answer: the service died
                        reply = None
                    if reply is not None and reply.status_code in (200, 201):
                        with self.lock:
                            self.ids[key] = reply.json()["id"]
                            self.statuses[reply.status_code] += 1
                        break
                    if reply is not None and reply.status_code != 503:
                        with self.lock:
                            self.unexpected.append(f"{key}: {reply.status_code} {reply.text[:300]}")
                        break
                    with self.lock:
                        self.retries += 1
                    time.sleep(0.2)


@pytest.fixture
def issuer(tmp_path, database_url):
    home = make_home(tmp_path)
    service = IssuerProcess(home, database_url, tmp_path / "logs", env=POLICY)
    try:
        yield service
    finally:
        service.stop()
        chain_down(home)


def test_kill_9_during_anchoring_while_clients_issue_through_the_api(issuer):
    started = time.monotonic()
    clients, phases, issued_at_kill = None, {}, []
    for point in KILLS:
        # Each run issues for a while before its anchorer may act (the test holds the anchoring
        # lease until STEP more credentials are issued): every kill comes in the middle of issuance.
        with anchoring_held(issuer.database_url):
            issuer.start(crash_at=point)
            if clients is None:
                issuer.wait_ready()
                clients = Clients(issuer.url, onboard(issuer))
                clients.start()
            clients.wait_for(clients.issued + STEP, timeout=90)
        issuer.wait_killed(timeout=60)
        issued_at_kill.append(clients.issued)
        phases[point] = round(time.monotonic() - started, 1)
        assert f"crash injected at {point}" in issuer.output()
    issuer.start()
    clients.join(timeout=180)
    phases["issued"] = round(time.monotonic() - started, 1)
    assert clients.unexpected == []
    assert issued_at_kill[-1] < TOTAL and len(set(issued_at_kill)) == len(KILLS), issued_at_kill
    assert clients.retries > 0  # the clients did meet the dead service

    with httpx.Client(base_url=issuer.url, timeout=60, headers=clients.auth) as client:
        wait_anchored(client, timeout=120)
        phases["anchored"] = round(time.monotonic() - started, 1)
        # a retried key returns the credential it created, never a new one
        for i in range(0, TOTAL, 97):
            key = f"kill9-{i}"
            again = client.post(
                "/credentials", json={"type": DEGREE, "subject": degree_subject(i)}, headers={"Idempotency-Key": key}
            )
            assert (again.status_code, again.json()["id"], again.json()["replayed"]) == (200, clients.ids[key], True)
        ids = list(clients.ids.values())
        check = verifier_for(issuer.home)

        def fetch_and_verify(cid: str):
            reply = client.get(f"/credentials/{cid}/bundle")
            assert reply.status_code == 200, reply.text
            assert json.loads(reply.content)["credential"]["id"] == cid
            return cid, check(reply.content)

        with ThreadPoolExecutor(CLIENTS) as pool:  # fetching, reading the chain and checking overlap
            verdicts = list(pool.map(fetch_and_verify, ids))
    phases["verified"] = round(time.monotonic() - started, 1)

    # exactly TOTAL credentials, one per key, each the one its client was told about
    assert len(clients.ids) == TOTAL and len(set(ids)) == TOTAL
    batches, creds = stored_batches(issuer.database_url)
    assert len(creds) == TOTAL and len({c.id for c in creds}) == TOTAL and len({c.digest for c in creds}) == TOTAL
    assert {c.idempotency_key: c.id for c in creds} == clients.ids
    records = idempotency_records(issuer.database_url)
    assert len(records) == TOTAL and {r.key: r.credential_id for r in records} == clients.ids

    # every credential anchored exactly once: in one completed batch, one Anchored event per root
    assert {b.state for b in batches} == {"completed"}
    by_batch = Counter(c.batch_id for c in creds)
    assert {b.id: b.count for b in batches} == dict(by_batch) and sum(by_batch.values()) == TOTAL
    for b in batches:
        assert sorted(c.leaf_index for c in creds if c.batch_id == b.id) == list(range(b.count))
    assert {c.state for c in creds} == {"anchored"}
    roots = anchored_roots(issuer.home)
    assert Counter(roots) == Counter({b.root: 1 for b in batches})

    # every bundle from the API verifies
    bad = [(cid, [c.code for c in r.checks if c.code != "OK"]) for cid, r in verdicts if r.verdict is not Verdict.VALID]
    assert len(verdicts) == TOTAL and bad == [], bad[:5]
    print(
        f"\n{TOTAL} issued by {CLIENTS} clients; issued when killed: {dict(zip(KILLS, issued_at_kill))}; "
        f"{clients.retries} retries, {clients.statuses[200]} answered as replays; {len(batches)} batches; "
        f"seconds since start: {phases}"
    )
