"""The metrics' pure parts: the bulk histogram update equals one observe() per value, the check
that decides a report, route templates as latency labels, the multiprocess directory, and a content
store that does not answer."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, Histogram

from http_common.metrics import REQUEST_LATENCY, UNMATCHED, RequestMetrics, multiprocess_dir
from ledger.content.ipfs_store import IpfsContentStore
from ledger.content.store import store_reachable
from ledger.issuance.metrics import DELAY_BUCKETS, observe_many
from ledger.verification.metrics import deciding_check


def _samples(registry: CollectorRegistry) -> dict:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for m in registry.collect() for s in m.samples}


def test_observe_many_equals_observe_one_by_one():
    values = [0, 0.5, 1, 1.0000001, 2, 59.9, 60, 61, 3600, 86_400, 86_401, 10**7, 7.25]
    one, bulk = CollectorRegistry(), CollectorRegistry()
    a = Histogram("delay", "d", ["agency"], buckets=DELAY_BUCKETS, registry=one)
    b = Histogram("delay", "d", ["agency"], buckets=DELAY_BUCKETS, registry=bulk)
    for v in values:
        a.labels("x").observe(v)
    observe_many(b.labels("x"), iter(values))

    def without_created(samples: dict) -> dict:  # the creation time differs, by design
        return {k: v for k, v in samples.items() if not k[0].endswith("_created")}

    assert without_created(_samples(one)) == without_created(_samples(bulk))
    assert _samples(bulk)[("delay_count", (("agency", "x"),))] == len(values)


def test_the_deciding_check_is_the_first_failure_else_the_first_error():
    checks = [("format", "VALID", "OK"), ("anchor", "ERROR", "CHAIN_UNAVAILABLE"), ("status", "INVALID", "REVOKED")]
    assert deciding_check(checks) == ("status", "REVOKED")  # INVALID wins over ERROR, as the verdict does
    assert deciding_check(checks[:2]) == ("anchor", "CHAIN_UNAVAILABLE")
    assert deciding_check([("format", "VALID", "OK"), ("status", "SKIPPED", "SKIPPED")]) == ("all", "VALID")


def test_latency_is_labelled_by_route_template_never_by_the_raw_path():
    app = FastAPI()

    @app.get("/things/{thing_id}")
    def thing(thing_id: str):
        return {"id": thing_id}

    app.add_middleware(RequestMetrics, fixed_paths=("/front",))
    secret_id = "urn:uuid:0b6e0c4e-5f5e-4d2b-9b7e-1d0c9b7e0001"

    def count(route: str, status: str) -> float:
        return _count_of(route, "GET", status)

    before = {k: count(*k) for k in (("/things/{thing_id}", "200"), (UNMATCHED, "404"), ("/front", "404"))}
    with TestClient(app) as client:
        assert client.get(f"/things/{secret_id}").status_code == 200
        assert client.get("/nowhere/330106199001011234").status_code == 404
        assert client.get("/front").status_code == 404  # answered by no route here, labelled as a front path
    assert count("/things/{thing_id}", "200") == before[("/things/{thing_id}", "200")] + 1
    assert count(UNMATCHED, "404") == before[(UNMATCHED, "404")] + 1
    assert count("/front", "404") == before[("/front", "404")] + 1
    labels = {v for m in REQUEST_LATENCY.collect() for s in m.samples for v in s.labels.values()}
    assert not any(secret_id in v or "330106199001011234" in v for v in labels)


def _count_of(route: str, method: str, status: str) -> float:
    for metric in REQUEST_LATENCY.collect():
        for s in metric.samples:
            if s.name.endswith("_count") and s.labels == {"route": route, "method": method, "status": status}:
                return s.value
    return 0.0


def test_multiprocess_dir_is_empty_and_removes_those_of_dead_runs(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / "run" / f"metrics-issuer-{int(dead.stdout)}"
    stale.mkdir(parents=True)
    (stale / "counter_1.db").write_bytes(b"x")
    mine = multiprocess_dir(tmp_path, "issuer")
    (mine / "histogram_2.db").write_bytes(b"x")
    live = tmp_path / "run" / f"metrics-verifier-{os.getppid()}"  # a live process's run of another service
    live.mkdir()
    again = multiprocess_dir(tmp_path, "issuer")
    assert again == mine == tmp_path / "run" / f"metrics-issuer-{os.getpid()}"
    assert list(again.iterdir()) == []  # cleaned at start
    assert not stale.exists() and live.exists()


def test_a_content_store_that_does_not_answer_is_unreachable(tmp_path):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    try:
        store = IpfsContentStore(f"http://127.0.0.1:{closed.getsockname()[1]}", timeout=2)
        assert store_reachable(store) is False
    finally:
        closed.close()
    from ledger.content import LocalContentStore

    assert store_reachable(LocalContentStore(tmp_path / "not-made-yet")) is True  # created on first write
