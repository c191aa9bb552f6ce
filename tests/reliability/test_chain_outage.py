"""Issue #7: the chain node stopped for 30 s during bulk issuance and anchoring.

A real anvil (the embedded chain, its state on disk, restarted on the same port with its chain
intact) and the issuer API as a real uvicorn process. While clients keep issuing (single POSTs and
bulk uploads) the chain is stopped for 30 s, then started again. Issuance needs no chain: every
request during the outage is accepted; the anchorer says clearly that the node is unreachable and
retries with backoff (no tight loop, no dead worker); once the node is back anchoring resumes by
itself, without restarting the service; every credential is then anchored exactly once and every
bundle verifies VALID.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
import uuid

import httpx
import pytest
from sqlalchemy import create_engine, select

from certledger.cli import main
from certledger.cli.context import App
from ledger.chain.embedded import EmbeddedChain
from ledger.governance.api_keys import create_api_key
from ledger.protocol.digest import to_hex32
from ledger.storage.models import BatchRecord, CredentialRecord
from ledger.verification import CachedChainReader, RpcChainReader, TrustRoots, Verdict, verify
from tests.integration.verifier_server import CLI, free_port, wait_healthy

OUTAGE_S = 30.0  # the issue says 30 s
AGENCY = "zj-hz-education"
SUBJECT = {"name": "张三", "degree": "学士", "major": "数学", "institution": "浙江大学", "graduationDate": "2024-06-30"}


@pytest.fixture
def home(tmp_path):
    """A data directory whose embedded chain listens on a fixed port (so a restart keeps the URL)."""
    home = tmp_path / "home"
    for args in (["init", "--port", str(free_port())], ["chain", "up"], ["deploy"]):
        assert main(["--data-dir", str(home), *args]) == 0
    yield home
    main(["--data-dir", str(home), "chain", "down"])


def embedded_chain(home) -> EmbeddedChain:
    c = App(home).settings.chain
    return EmbeddedChain(App(home).settings.chain_dir, c.host, c.port, c.state_interval, c.chain_id)


class Issuer:
    """`certledger serve issuer` as a subprocess, its output in a file (a full pipe would block it)."""

    def __init__(self, home, log_path):
        self.port, self.log_path = free_port(), log_path
        self.log_file = open(log_path, "wb")
        self.process = subprocess.Popen(
            [*CLI, "--data-dir", str(home), "serve", "issuer", "--port", str(self.port)],
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, "CERTLEDGER_RUN_ANCHORER": "1"},
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, client: httpx.Client, timeout_s: float = 90) -> None:
        wait_healthy(client, self.process, self.output, "the issuer", timeout_s)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()
        return self.output()


class SingleIssuer(threading.Thread):
    """Keeps POSTing one credential at a time (each with its own Idempotency-Key) until stopped."""

    def __init__(self, url: str, auth: dict):
        super().__init__(name="single-issuer", daemon=True)
        self.url, self.auth = url, auth
        self.stop_event = threading.Event()
        self.results: list[tuple[float, int, str]] = []  # (time, status, id or body)

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as client:
            n = 0
            while not self.stop_event.is_set():
                n += 1
                reply = client.post(
                    "/credentials",
                    json={"type": "DegreeCertificate", "subject": {**SUBJECT, "name": f"单发 {n}"}},
                    headers={**self.auth, "Idempotency-Key": f"single-{uuid.uuid4()}"},
                )
                ok = reply.status_code in (200, 201)
                self.results.append((time.monotonic(), reply.status_code, reply.json()["id"] if ok else reply.text))
                self.stop_event.wait(0.1)


def bulk_upload(client: httpx.Client, auth: dict, tag: str, rows: int) -> list[str]:
    lines = ["name,degree,major,institution,graduationDate"]
    lines += [f"批量{tag}-{i},学士,数学,浙江大学,2024-06-30" for i in range(rows)]
    reply = client.post(
        "/credentials/bulk",
        params={"type": "DegreeCertificate"},
        content="\n".join(lines).encode(),
        headers={**auth, "Content-Type": "text/csv", "Idempotency-Key": f"bulk-{tag}"},
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["errors"] == [] and len(body["issued"]) == rows
    return [r["id"] for r in body["issued"]]


def wait_all_anchored(client: httpx.Client, issuer: Issuer, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        health = client.get("/healthz").json()
        if health["pending_credentials"] == 0 and not health["batches"]:
            return health
        assert issuer.process.poll() is None, issuer.output()
        assert time.monotonic() < deadline, f"not all anchored {timeout_s:.0f} s after the chain came back: {health}"
        time.sleep(0.5)


def test_chain_stopped_30s_during_issuance_and_anchoring(home, tmp_path):
    app = App(home)
    _, governance = create_api_key(app.engine, None, ["governance"], "test")
    chain = embedded_chain(home)
    issuer = Issuer(home, tmp_path / "issuer.log")
    singles = None
    try:
        with httpx.Client(base_url=issuer.url, timeout=120) as client:
            issuer.wait_ready(client)
            agency = client.post(
                "/agencies",
                json={"code": AGENCY, "name": "杭州市教育局", "types": ["DegreeCertificate"]},
                headers={"Authorization": f"Bearer {governance}"},
            )
            assert agency.status_code == 201, agency.text
            auth = {"Authorization": f"Bearer {agency.json()['apiKey']}"}
            before = bulk_upload(client, auth, "before", 20)
            wait_all_anchored(client, issuer, 60)  # the pipeline works before the outage

            singles = SingleIssuer(issuer.url, auth)
            singles.start()
            time.sleep(1.0)
            assert chain.down()
            down_at = time.monotonic()
            during = bulk_upload(client, auth, "outage-1", 300)
            healths = []
            while time.monotonic() < down_at + OUTAGE_S / 2:
                healths.append(client.get("/healthz"))
                time.sleep(2.0)
            during += bulk_upload(client, auth, "outage-2", 300)
            while time.monotonic() < down_at + OUTAGE_S:
                healths.append(client.get("/healthz"))
                time.sleep(1.0)
            assert chain.status().state == "stopped"  # really down all along
            chain.up()
            up_at = time.monotonic()
            time.sleep(2.0)
            singles.stop_event.set()
            singles.join(timeout=60)
            after = bulk_upload(client, auth, "after", 50)

            wait_all_anchored(client, issuer, 120)
            resumed_in = time.monotonic() - up_at
            assert issuer.process.poll() is None  # the same service, never restarted

            # Every request during the outage was accepted: issuance does not need the chain.
            outage_singles = [r for r in singles.results if down_at <= r[0] <= up_at]
            assert len(outage_singles) >= 10
            assert all(status in (200, 201) for _, status, _ in singles.results), [
                r for r in singles.results if r[1] not in (200, 201)
            ][:5]
            assert all(h.status_code == 200 and h.json()["ok"] for h in healths)
            anchorer = [h.json()["anchorer"] for h in healths]
            assert all(a["running"] for a in anchorer)  # the worker thread lives through the outage
            assert not anchorer[-1]["chainReachable"] and anchorer[-1]["chainDownForS"] >= OUTAGE_S - 5
            # The anchoring process writes its state once a second: the workers may still show the last
            # state from before the batches it anchored as soon as the node answered.
            recovered, deadline = client.get("/healthz").json()["anchorer"], time.monotonic() + 5
            while recovered["chainReachable"] is not True and time.monotonic() < deadline:
                time.sleep(0.2)
                recovered = client.get("/healthz").json()["anchorer"]
            assert recovered.pop("worker")  # the anchoring worker's id (its lease holder name)
            assert recovered == {"running": True, "chainReachable": True, "chainDownForS": None}
            assert client.get("/healthz").json()["anchoring"]["waitingFor"] is None
            assert max(h.json()["pending_credentials"] for h in healths) >= 300  # work piled up, visibly

            issued = before + during + after + [cid for _, _, cid in singles.results]
            assert len(set(issued)) == len(issued)
            bundles = {cid: client.get(f"/credentials/{cid}/bundle", headers=auth).content for cid in issued}
    finally:
        if singles is not None:
            singles.stop_event.set()
        output = issuer.stop()

    # The anchorer said clearly what was wrong, backed off, and its worker never died.
    outage_lines = [line for line in output.splitlines() if "chain node unreachable" in line]
    assert outage_lines, output[-3000:]
    assert len(outage_lines) <= 12, f"{len(outage_lines)} outage lines in {OUTAGE_S:.0f} s: not backing off"
    delays = [int(m) for line in outage_lines for m in re.findall(r"next try in (\d+) s", line)]
    assert delays == sorted(delays) and delays[-1] >= 8, delays  # growing pauses, not a tight loop
    assert any("chain node reachable again" in line for line in output.splitlines()), output[-3000:]
    assert "the anchoring worker stopped" not in output
    assert "Traceback" not in output, output[-5000:]

    # Exactly once: every credential in one completed batch, one Anchored event per root.
    engine = create_engine(app.settings.resolved_database_url)
    batch_t, cred_t = BatchRecord.__table__, CredentialRecord.__table__
    with engine.connect() as conn:
        batches = conn.execute(select(batch_t)).all()
        creds = conn.execute(select(cred_t.c.id, cred_t.c.state, cred_t.c.batch_id)).all()
    engine.dispose()
    assert {b.state for b in batches} == {"completed"}
    assert sorted(c.id for c in creds) == sorted(issued)
    assert all(c.state == "anchored" and c.batch_id is not None for c in creds)
    per_batch = {b.id: b.count for b in batches}
    for b in batches:
        assert sum(1 for c in creds if c.batch_id == b.id) == per_batch[b.id]
    d = App(home).deployment()
    anchored = App(home).ledger().events(from_block=d.block, names=["Anchored"])
    roots = [to_hex32(bytes(e.args["root"])) for e in anchored]
    assert sorted(roots) == sorted(b.root for b in batches)  # one anchor per root, none missing, none twice
    assert sum(e.args["count"] for e in anchored) == len(issued)

    reader = CachedChainReader(RpcChainReader({d.chain_id: App(home).rpc_urls()}))
    trust = TrustRoots.single(d.chain_id, d.registry, d.ledger)
    verdicts = {cid: verify(data, trust, reader).verdict for cid, data in bundles.items()}
    assert [cid for cid, v in verdicts.items() if v is not Verdict.VALID] == []
    print(
        f"\n{len(issued)} credentials ({len(outage_singles)} single POSTs during the outage) in {len(batches)} "
        f"batches; all anchored {resumed_in:.1f} s after the chain came back; {len(outage_lines)} outage log lines"
    )
