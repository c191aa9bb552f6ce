"""`/metrics` on both services, on real components: anvil, SQLite (and PostgreSQL for the counts),
the issuer and the verifier in process and as `certledger serve` with two workers each.

What is held: the counts equal what was issued, anchored and left pending; the histograms got an
observation per credential and per batch; reachability turns 0 when the chain node stops; the
verifier's verdict counter moves with each POST /verify, by verdict and deciding check; every scrape
of a two-worker service gives the same numbers, whichever worker answers and whichever process
issued, anchored or verified; and no label value holds a subject's name, id number or a credential id.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from certledger.cli import main
from certledger.cli.context import App
from issuer_api.app import create_app as create_issuer_app
from ledger.content import LocalContentStore
from ledger.governance.api_keys import create_api_key
from ledger.issuance import anchor_once, close_batches, issue_one
from ledger.issuance.metrics import IssuanceCollector, credential_counts
from ledger.storage.db import reading
from ledger.storage.tables import CRED
from tests.integration.conftest import degree
from tests.integration.issuance_support import (  # noqa: F401  (pytest fixtures)
    CIVIL,
    DEGREE,
    EDU,
    RESIDENCE,
    degree_subject,
    issuer_world,
    make_context,
    residence_subject,
)
from tests.integration.verifier_server import issuer_service, serving, settings_for, start_verifier

pytestmark = pytest.mark.integration

NAMES = ("王伟", "李娜", "张敏", "刘洋", "陈静", "杨磊", "赵强", "黄丽")
ID_NUMBER = "330106199001011234"


def parse(text: str) -> dict:
    """{(sample name, frozenset of labels): value} of a scrape."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: dict, name: str, **labels) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def label_values(samples: dict) -> set[str]:
    return {v for _, labels in samples for _, v in labels}


def assert_no_personal_data(samples: dict, credential_ids=()) -> None:
    values = label_values(samples)
    for forbidden in (*NAMES, ID_NUMBER, "urn:uuid:", *credential_ids):
        assert not any(forbidden in v for v in values), forbidden


def local_count(name: str, **labels) -> float:
    """A sample of this process's own registry (no multiprocess directory in the test process)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


# ------------------------------------------------------------- the counts, on SQLite and PostgreSQL


def test_counts_equal_what_was_issued_anchored_and_pending(issuer_world, database_url, tmp_path):
    ctx = make_context(issuer_world, database_url)
    try:
        delays_before = local_count("certledger_anchoring_delay_seconds_count", agency=EDU)
        batches_before = local_count("certledger_batch_size_count", agency=EDU)
        for name in NAMES[:5]:
            issue_one(ctx, EDU, DEGREE, degree_subject(name))
        for name in NAMES[:2]:
            issue_one(ctx, CIVIL, RESIDENCE, residence_subject(name))
        anchor_once(ctx, flush=True)  # all 7 anchored
        for name in NAMES[5:8]:
            issue_one(ctx, EDU, DEGREE, degree_subject(name))
        close_batches(ctx, flush=True)  # EDU's 3 in a closed batch, not sent: still pending
        issue_one(ctx, EDU, DEGREE, degree_subject("孙悦"))  # waiting for a batch

        counts = credential_counts(ctx)
        edu, civil = counts.agencies[EDU], counts.agencies[CIVIL]
        assert (edu.issued, edu.anchored, edu.pending) == (9, 5, 4)
        assert (civil.issued, civil.anchored, civil.pending) == (2, 2, 0)
        assert counts.open_batches == {"closed": 1, "sent": 0, "confirmed": 0}
        with reading(ctx.engine).connect() as conn:  # the same, counted the slow way: every credential's state
            rows = conn.execute(
                select(CRED.c.agency_code, CRED.c.state, func.count()).group_by(CRED.c.agency_code, CRED.c.state)
            ).all()
        states = {(agency, state): n for agency, state, n in rows}
        assert states == {(EDU, "anchored"): 5, (EDU, "batched"): 3, (EDU, "pending"): 1, (CIVIL, "anchored"): 2}

        collector = IssuanceCollector(ctx, LocalContentStore(tmp_path / "content"), anchorer_running=lambda: False)
        samples = parse(generate_latest(_Only(collector)).decode())
        assert value(samples, "certledger_credentials_issued_total", agency=EDU) == 9
        assert value(samples, "certledger_credentials_anchored", agency=EDU) == 5
        assert value(samples, "certledger_credentials_pending", agency=EDU) == 4
        assert value(samples, "certledger_credentials_pending", agency=CIVIL) == 0
        assert value(samples, "certledger_oldest_pending_seconds", agency=EDU) > 0
        assert value(samples, "certledger_oldest_pending_seconds", agency=CIVIL) == 0
        assert value(samples, "certledger_batches_open", state="closed") == 1
        for name in ("chain", "database", "content_store"):
            assert value(samples, f"certledger_{name}_reachable") == 1, name
        assert value(samples, "certledger_anchorer_running") == 0
        assert_no_personal_data(samples)
        # one delay per credential anchored, one size per batch
        assert local_count("certledger_anchoring_delay_seconds_count", agency=EDU) == delays_before + 5
        assert local_count("certledger_batch_size_count", agency=EDU) == batches_before + 1
    finally:
        ctx.engine.dispose()


class _Only:
    def __init__(self, collector):
        self.collector = collector

    def collect(self):
        return self.collector.collect()


# ------------------------------------------------------------------------- the issuer, in process


def bearer(key: str | None) -> dict:
    return {"Authorization": f"Bearer {key}"} if key else {}


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    for args in (["init", "--port", "0"], ["chain", "up"], ["deploy"]):
        assert main(["--data-dir", str(home), *args]) == 0
    yield home
    main(["--data-dir", str(home), "chain", "down"])


def register(client, governance: str) -> str:
    reply = client.post(
        "/agencies",
        json={"code": EDU, "name": "杭州市教育局", "types": [DEGREE]},
        headers=bearer(governance),
    )
    assert reply.status_code == 201, reply.text
    return reply.json()["apiKey"]


def issue(client, key: str, name: str) -> str:
    subject = {**degree(name), "idNumber": ID_NUMBER}
    reply = client.post("/credentials", json={"type": DEGREE, "subject": subject}, headers=bearer(key))
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


def test_issuer_metrics_over_http_need_a_governance_key_and_follow_the_chain(home):
    _, service = issuer_service(home)
    _, governance = create_api_key(service.ctx.engine, None, ["governance"], "metrics test")
    with TestClient(create_issuer_app(service)) as client:
        admin = register(client, governance)
        posted_before = local_count(
            "certledger_http_request_duration_seconds_count", route="/credentials", method="POST", status="201"
        )
        ids = [issue(client, admin, name) for name in NAMES[:4]]
        anchor_once(service.ctx, flush=True)
        ids += [issue(client, admin, name) for name in NAMES[4:6]]
        assert client.get(f"/credentials/{ids[0]}", headers=bearer(admin)).status_code == 200

        assert client.get("/metrics").status_code == 401
        refused = client.get("/metrics", headers=bearer(admin))  # an agency's admin key: not every agency's counts
        assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")
        reply = client.get("/metrics", headers=bearer(governance))
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
        samples = parse(reply.text)
        assert value(samples, "certledger_credentials_issued_total", agency=EDU) == 6
        assert value(samples, "certledger_credentials_anchored", agency=EDU) == 4
        assert value(samples, "certledger_credentials_pending", agency=EDU) == 2
        assert value(samples, "certledger_chain_reachable") == 1
        assert value(samples, "certledger_database_reachable") == 1
        assert value(samples, "certledger_content_store_reachable") == 1
        assert value(samples, "certledger_anchorer_running") == 0  # run_anchorer=False here
        assert value(samples, "certledger_anchoring_delay_seconds_count", agency=EDU) >= 4
        assert (
            value(
                samples,
                "certledger_http_request_duration_seconds_count",
                route="/credentials",
                method="POST",
                status="201",
            )
            == posted_before + 6
        )
        routes = {dict(labels).get("route") for name, labels in samples if name.startswith("certledger_http")}
        assert "/credentials/{credential_id}" in routes and "/agencies" in routes
        assert_no_personal_data(samples, ids)

        assert main(["--data-dir", str(home), "chain", "down"]) == 0
        down = parse(client.get("/metrics", headers=bearer(governance)).text)
        assert value(down, "certledger_chain_reachable") == 0
        assert value(down, "certledger_database_reachable") == 1
        assert value(down, "certledger_credentials_pending", agency=EDU) == 2  # issuance's counts do not need the chain


# ------------------------------------------------------------------------ the verifier, in a thread


def test_verifier_counts_verdicts_by_check_and_code(shared_world, tmp_path):
    world = shared_world
    _, bundles = world.anchor(EDU, [world.sign(EDU, {**degree("王伟"), "idNumber": ID_NUMBER})])
    good = json.loads(bundles[0].to_bytes())
    forged = json.loads(bundles[0].to_bytes())
    forged["credential"]["credentialSubject"]["name"] = "李娜"  # the digest no longer matches the anchored leaf
    server = start_verifier(settings_for(world, tmp_path))
    label = {"endpoint": "verify"}
    valid = dict(label, verdict="VALID", check="all", code="VALID")
    try:
        before_valid = local_count("certledger_verifications_total", **valid)
        with server.client() as client:
            assert client.post("/verify", json=good).json()["verdict"] == "VALID"
            report = client.post("/verify", json=forged).json()
            assert report["verdict"] == "INVALID"
            failed = next(c for c in report["checks"] if c["status"] == "INVALID")
            invalid = dict(label, verdict="INVALID", check=failed["name"], code=failed["code"])
            batch = client.post("/verify/batch", json=[good, forged, good]).json()
            assert [r["verdict"] for r in batch] == ["VALID", "INVALID", "VALID"]
            reply = client.get("/metrics")  # public
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
        samples = parse(reply.text)
    finally:
        server.stop()
    assert value(samples, "certledger_verifications_total", **valid) == before_valid + 1
    assert value(samples, "certledger_verifications_total", **invalid) >= 1
    batch_invalid = dict(invalid, endpoint="batch")
    assert value(samples, "certledger_verifications_total", **dict(valid, endpoint="batch")) >= 2
    assert value(samples, "certledger_verifications_total", **batch_invalid) >= 1
    assert value(samples, "certledger_chain_reachable", chain_id=str(world.chain_id)) == 1
    assert value(samples, "certledger_database_reachable") == 1
    assert value(samples, "certledger_content_store_reachable") == 1
    assert (
        value(samples, "certledger_http_request_duration_seconds_count", route="/verify", method="POST", status="200")
        >= 2
    )
    assert_no_personal_data(samples, [good["credential"]["id"]])


# ------------------------------------------- both services as `certledger serve`, two workers each


def scrapes(url: str, n: int, headers: dict | None = None) -> list[dict]:
    """``n`` scrapes, each on a new connection (so that the workers take turns answering)."""
    out = []
    for _ in range(n):
        with httpx.Client(base_url=url, timeout=30) as client:
            reply = client.get("/metrics", headers=headers or {})
            assert reply.status_code == 200, reply.text
            out.append(parse(reply.text))
    return out


def test_two_workers_and_the_anchoring_process_answer_alike(home):
    _, governance = create_api_key(App(home).engine, None, ["governance"], "metrics test")
    env = {"CERTLEDGER_RUN_ANCHORER": "1"}
    with serving(home, "issuer", "--workers", "2", env=env) as issuer_server:
        with issuer_server.client() as client:
            admin = register(client, governance)
            ids = [issue(client, admin, name) for name in NAMES[:5]]
            deadline = time.monotonic() + 60  # batches close after 5 s by default
            while client.get(f"/credentials/{ids[-1]}", headers=bearer(admin)).json()["state"] != "anchored":
                assert time.monotonic() < deadline, "not anchored within a minute"
                time.sleep(0.5)
            bundle = client.get(f"/credentials/{ids[0]}/bundle", headers=bearer(admin)).json()
        seen = scrapes(issuer_server.url, 12, bearer(governance))
        run = list((home / "run").glob("metrics-issuer-*"))
        assert len(run) == 1 and any(run[0].iterdir())  # one directory for the run, a file per process
    assert not list((home / "run").glob("metrics-issuer-*"))  # removed when the service stops
    for samples in seen:
        assert value(samples, "certledger_credentials_issued_total", agency=EDU) == 5
        assert value(samples, "certledger_credentials_anchored", agency=EDU) == 5
        assert value(samples, "certledger_credentials_pending", agency=EDU) == 0
        assert value(samples, "certledger_anchorer_running") == 1
        # observed in the anchoring process, summed by whichever worker answers
        assert value(samples, "certledger_anchoring_delay_seconds_count", agency=EDU) == 5
        assert value(samples, "certledger_batch_size_sum", agency=EDU) == 5
        posted = ("certledger_http_request_duration_seconds_count", "/credentials", "POST", "201")
        assert value(samples, posted[0], route=posted[1], method=posted[2], status=posted[3]) == 5
        assert_no_personal_data(samples, ids)

    forged = json.loads(json.dumps(bundle))
    forged["credential"]["credentialSubject"]["name"] = "李娜"
    with serving(home, "verifier", "--workers", "2") as verifier_server:
        for body, verdict in ((bundle, "VALID"), (forged, "INVALID"), (bundle, "VALID"), (bundle, "VALID")):
            with httpx.Client(base_url=verifier_server.url, timeout=30) as client:  # a new connection each
                assert client.post("/verify", json=body).json()["verdict"] == verdict
        seen = scrapes(verifier_server.url, 12)
    for samples in seen:
        verdicts = {
            dict(labels)["verdict"]: n
            for (name, labels), n in samples.items()
            if name == "certledger_verifications_total"
        }
        assert verdicts == {"VALID": 3, "INVALID": 1}
        assert value(samples, "certledger_database_reachable") == 1
        assert_no_personal_data(samples, ids)
