"""PostgreSQL restarted under the running issuer service (issue #7): requests fail cleanly or are
retried, and nothing is half-written.

Clients issue continuously through the API (single credentials and bulk CSV uploads, each request
with its own Idempotency-Key) while the database is stopped and started again twice: a clean stop
with two seconds of outage, then a crash (immediate stop, recovery on start). Every answer is a
success or a 503 problem+json (never a 500, never a connection cut without an answer); a client
sends a 503'd request again, unchanged, until it succeeds. The service itself is never restarted: it
must serve again once the database is back. Then: every credential a client was told about exists
exactly once, nothing else exists, every bulk upload is there whole, retried keys made no duplicates;
anchoring completes and every bundle fetched through the API verifies VALID.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections import Counter

import httpx
import pytest

from tests.integration.postgres import restartable_postgres  # noqa: F401 - fixture
from tests.reliability.issuer_process import (
    DEGREE,
    IssuerProcess,
    Verdict,
    anchored_roots,
    chain_down,
    degree_subject,
    idempotency_records,
    make_home,
    onboard,
    stored_batches,
    verifier_for,
    wait_anchored,
)

SINGLE_CLIENTS, BULK_CLIENTS, BULK_ROWS = 4, 2, 25
STEP = 60  # credentials issued between the phases (before, between and after the outages)
POLICY = {"CERTLEDGER_BATCH_MAX_SIZE": "200", "CERTLEDGER_BATCH_MAX_AGE_S": "1"}


def bulk_csv(first: int) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(degree_subject(0)))
    writer.writeheader()
    for i in range(first, first + BULK_ROWS):
        writer.writerow(degree_subject(i))
    return out.getvalue().encode("utf-8")


class Clients:
    """Clients sending new requests until stopped; a 503 is answered by sending the same request again."""

    def __init__(self, base_url: str, api_key: str):
        self.base_url, self.auth = base_url, {"Authorization": f"Bearer {api_key}"}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.single: dict[str, str] = {}  # key -> id
        self.bulk: dict[str, list[str]] = {}  # key -> ids in row order
        self.answers: Counter = Counter()  # (kind, status)
        self.phase = "before"
        self.refused: Counter = Counter()  # 503s by phase of the test
        self.unclean: list[str] = []  # anything but success or a 503 problem
        self.counter = iter(range(10**9))
        self.threads = [
            threading.Thread(target=self._run, args=(self._single,), daemon=True) for _ in range(SINGLE_CLIENTS)
        ] + [threading.Thread(target=self._run, args=(self._bulk,), daemon=True) for _ in range(BULK_CLIENTS)]

    @property
    def issued(self) -> int:
        with self.lock:
            return len(self.single) + sum(map(len, self.bulk.values()))

    def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.issued < count:
            assert time.monotonic() < deadline, f"only {self.issued} of {count} issued; {self.unclean[:3]}"
            time.sleep(0.1)

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def finish(self, timeout: float) -> None:
        self.stop.set()
        end = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, end - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), "clients still running"

    def _run(self, send) -> None:
        with httpx.Client(base_url=self.base_url, timeout=60, headers=self.auth) as client:
            while not self.stop.is_set():
                with self.lock:
                    n = next(self.counter)
                send(client, n)

    def _send(self, client: httpx.Client, kind: str, request) -> dict | None:
        """The request until it succeeds: its JSON answer, or None (an unclean answer, recorded)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                reply = request()
            except httpx.TransportError as exc:
                with self.lock:
                    self.unclean.append(f"{kind}: no answer ({type(exc).__name__}: {exc})")
                return None
            with self.lock:
                self.answers[(kind, reply.status_code)] += 1
                if reply.status_code == 503:
                    self.refused[self.phase] += 1
            if reply.status_code in (200, 201):
                return reply.json()
            clean = (
                reply.status_code == 503
                and reply.headers.get("content-type", "").startswith("application/problem+json")
                and reply.json().get("code") == "DATABASE_UNAVAILABLE"
                and "retry-after" in reply.headers
            )
            if not clean:
                with self.lock:
                    self.unclean.append(
                        f"{kind}: {reply.status_code} {reply.headers.get('content-type')} {reply.text[:300]}"
                    )
                return None
            time.sleep(0.3)
        with self.lock:
            self.unclean.append(f"{kind}: still 503 after 60 s")
        return None

    def _single(self, client: httpx.Client, n: int) -> None:
        key = f"single-{n}"
        answer = self._send(
            client,
            "single",
            lambda: client.post(
                "/credentials", json={"type": DEGREE, "subject": degree_subject(n)}, headers={"Idempotency-Key": key}
            ),
        )
        if answer is not None:
            with self.lock:
                self.single[key] = answer["id"]

    def _bulk(self, client: httpx.Client, n: int) -> None:
        key, body = f"bulk-{n}", bulk_csv(100_000 + n * BULK_ROWS)
        answer = self._send(
            client,
            "bulk",
            lambda: client.post(
                "/credentials/bulk",
                params={"type": DEGREE, "all_or_nothing": "true"},
                content=body,
                headers={"Idempotency-Key": key, "Content-Type": "text/csv"},
            ),
        )
        if answer is not None:
            with self.lock:
                self.bulk[key] = [row["id"] for row in sorted(answer["issued"], key=lambda r: r["row"])]


@pytest.fixture
def issuer(tmp_path, restartable_postgres):
    server, cluster = restartable_postgres
    home = make_home(tmp_path)
    service = IssuerProcess(home, server.create_database(), tmp_path / "logs", env=POLICY)
    try:
        yield service, cluster
    finally:
        service.stop()
        chain_down(home)


def test_postgres_restarts_under_the_running_service(issuer):
    issuer, cluster = issuer
    started = time.monotonic()
    issuer.start()
    issuer.wait_ready()
    clients = Clients(issuer.url, onboard(issuer))
    clients.start()
    clients.wait_for(STEP, timeout=60)
    outages = []
    for mode, down_s in (("fast", 2.0), ("immediate", 0.0)):
        before = clients.issued
        t = time.monotonic()
        clients.phase = f"{mode} stop"
        cluster.stop(mode)
        time.sleep(down_s)
        cluster.start()
        clients.phase = f"after {mode} stop"
        outages.append((mode, round(time.monotonic() - t, 1)))
        clients.wait_for(before + STEP, timeout=60)  # the service serves again by itself
    clients.finish(timeout=90)
    assert issuer.proc.poll() is None and issuer.runs == 1  # never restarted
    assert clients.unclean == [], clients.unclean[:5]
    assert clients.refused["fast stop"] > 0, clients.refused  # the clients did meet the outage

    told = list(clients.single.values()) + [cid for ids in clients.bulk.values() for cid in ids]
    assert len(told) == len(set(told))
    assert all(len(ids) == BULK_ROWS for ids in clients.bulk.values())
    with httpx.Client(base_url=issuer.url, timeout=60, headers=clients.auth) as client:
        wait_anchored(client, timeout=90)
        # the same requests again, with their keys: the same credentials, nothing new
        for key in list(clients.single)[:10]:
            n = int(key.removeprefix("single-"))
            again = client.post(
                "/credentials", json={"type": DEGREE, "subject": degree_subject(n)}, headers={"Idempotency-Key": key}
            )
            assert (again.status_code, again.json()["id"]) == (200, clients.single[key]), again.text
        for key in list(clients.bulk)[:3]:
            n = int(key.removeprefix("bulk-"))
            again = client.post(
                "/credentials/bulk",
                params={"type": DEGREE, "all_or_nothing": "true"},
                content=bulk_csv(100_000 + n * BULK_ROWS),
                headers={"Idempotency-Key": key, "Content-Type": "text/csv"},
            )
            assert again.status_code == 200 and again.json()["replayed"], again.text
            assert [r["id"] for r in sorted(again.json()["issued"], key=lambda r: r["row"])] == clients.bulk[key]
        check = verifier_for(issuer.home)
        verdicts = {}
        for cid in told:
            reply = client.get(f"/credentials/{cid}/bundle")
            assert reply.status_code == 200, reply.text
            verdicts[cid] = check(reply.content).verdict

    # exactly the credentials the clients were told about, each once; bulk uploads whole
    batches, creds = stored_batches(issuer.database_url)
    assert sorted(c.id for c in creds) == sorted(told)
    per_key = Counter(c.idempotency_key for c in creds)
    assert {k: per_key[k] for k in clients.single} == {k: 1 for k in clients.single}
    assert {k: per_key[k] for k in clients.bulk} == {k: BULK_ROWS for k in clients.bulk}
    assert set(per_key) == set(clients.single) | set(clients.bulk)
    by_key = {}
    for c in creds:
        by_key.setdefault(c.idempotency_key, []).append((c.request_row, c.id))
    assert {k: [cid for _, cid in sorted(v)] for k, v in by_key.items() if k in clients.bulk} == clients.bulk
    records = {r.key: r for r in idempotency_records(issuer.database_url)}
    assert set(records) == set(per_key)
    assert all(records[k].credential_id == cid for k, cid in clients.single.items())

    # the background loops met the outage quietly: one line per try (growing delays), a line when the
    # database was back, no traceback (the request path logs one line per 503, no traceback either)
    output = issuer.output()
    assert "Traceback" not in output, output[output.index("Traceback") - 300 :][:3000]
    paused = [line for line in output.splitlines() if " paused; next try in " in line and "database" in line]
    back = [line for line in output.splitlines() if "database" in line and "reachable again after" in line]
    anchorer = [line for line in paused + back if "anchoring paused" in line or "anchoring resumes" in line]
    assert 1 <= sum("anchoring paused" in line for line in paused) and len(paused) <= 12, paused
    assert 1 <= sum(line.endswith("anchoring resumes") for line in back) <= len(outages), back
    assert sorted(anchorer, key=lambda line: line[:23])[-1].endswith("anchoring resumes"), anchorer
    assert all("@" not in line for line in paused + back)  # scheme://host:port/name, never a user or password

    # anchored once each, every bundle valid
    assert {b.state for b in batches} == {"completed"} and {c.state for c in creds} == {"anchored"}
    assert Counter(anchored_roots(issuer.home)) == Counter({b.root: 1 for b in batches})
    assert [cid for cid, v in verdicts.items() if v is not Verdict.VALID] == []
    print(
        f"\n{len(told)} credentials ({len(clients.single)} single, {len(clients.bulk)} bulk uploads); outages "
        f"{outages}; answers {dict(clients.answers)}; 503s by phase {dict(clients.refused)}; {len(batches)} batches; "
        f"{len(paused)} outage lines, {len(back)} recovery lines; {time.monotonic() - started:.1f} s"
    )
