"""The issuer API as a real process (uvicorn on the app `certledger serve issuer` runs, here as one
process that also anchors, with the crash tests' step hook: ``tests.reliability.crashing_issuer``) on a data directory of its own: an embedded
anvil with freshly deployed contracts (so every Anchored event on it is the test's), and the
database the test names. It can be killed and started again on the same port; clients see the same
base URL throughout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from certledger.cli import main
from ledger.chain.embedded import rpc_urls_for
from ledger.config import load_settings
from ledger.governance.api_keys import create_api_key
from ledger.issuance.anchoring import LEASE_NAME
from ledger.issuance.lease import acquire_lease, release_lease
from ledger.storage.db import init_database
from ledger.storage.tables import BATCH, CRED
from ledger.verification import CachedChainReader, RpcChainReader, TrustRoots, Verdict, verify
from tests.integration.verifier_server import free_port

REPO = Path(__file__).resolve().parents[2]
AGENCY = "zj-hz-education"
DEGREE = "DegreeCertificate"


def degree_subject(i: int) -> dict:
    return {
        "name": f"学生 {i:05d}",
        "idNumber": f"3301061990{i:08d}",
        "degree": "学士 Bachelor of Engineering",
        "major": "计算机科学与技术",
        "institution": "浙江大学 Zhejiang University",
        "graduationDate": "2024-06-30",
    }


def make_home(base: Path) -> Path:
    """init (free anvil port), chain up, deploy; the caller runs `chain down` (``chain_down``)."""
    home = base / "home"
    for args in (["init", "--port", "0"], ["chain", "up"], ["deploy"]):
        assert main(["--data-dir", str(home), *args]) == 0, args
    return home


def chain_down(home: Path) -> None:
    main(["--data-dir", str(home), "chain", "down"])


@dataclass
class IssuerProcess:
    home: Path
    database_url: str
    logs: Path
    env: dict = field(default_factory=dict)  # e.g. the batch policy
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    runs: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.logs / f"issuer-{self.runs}.log"

    def start(self, crash_at: str | None = None) -> subprocess.Popen:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.runs += 1
        env = dict(os.environ)
        env.update(
            {
                "CERTLEDGER_HOME": str(self.home),
                "CERTLEDGER_DATABASE_URL": self.database_url,
                "CERTLEDGER_RUN_ANCHORER": "1",
                **self.env,
            }
        )
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.reliability.crashing_issuer",
                    "--port",
                    str(self.port),
                    *(["--crash-at", crash_at] if crash_at else []),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                env=env,
            )
        return self.proc

    def output(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None, f"the issuer exited ({self.proc.returncode}):\n{self.output()[-3000:]}"
            assert time.monotonic() < deadline, f"the issuer did not become ready:\n{self.output()[-3000:]}"
            time.sleep(0.2)

    def wait_killed(self, timeout: float) -> None:
        """Until the process has killed itself (a crash point); fails if it lives on or exits otherwise."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"no crash within {timeout} s:\n{self.output()[-3000:]}") from None
        assert code == -signal.SIGKILL, f"exit {code}, not SIGKILL:\n{self.output()[-3000:]}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def onboard(issuer: IssuerProcess, agency: str = AGENCY, types=(DEGREE,)) -> str:
    """The agency's API key, onboarded through the API with a governance key made for the test."""
    engine = init_database(issuer.database_url)
    try:
        _, governance = create_api_key(engine, None, ["governance"], "reliability test")
    finally:
        engine.dispose()
    reply = httpx.post(
        issuer.url + "/agencies",
        json={"code": agency, "name": "杭州市教育局", "types": list(types)},
        headers={"Authorization": f"Bearer {governance}"},
        timeout=120,
    )
    assert reply.status_code == 201, reply.text
    return reply.json()["apiKey"]


@contextmanager
def anchoring_held(database_url: str):
    """Hold the anchoring lease while the block runs: the service issues but does not anchor until it
    is released. Whoever held it before was killed, so its lease counts as expired now (a clock a
    minute ahead) rather than after its TTL."""
    engine = init_database(database_url)
    holder = f"test-{uuid.uuid4().hex[:8]}"
    try:
        assert acquire_lease(engine, LEASE_NAME, holder, 300, datetime.now(UTC) + timedelta(minutes=1))
        yield
    finally:
        release_lease(engine, LEASE_NAME, holder)
        engine.dispose()


def issue_degrees(client: httpx.Client, first: int, n: int) -> list[str]:
    """Degrees ``first`` to ``first + n - 1`` issued one request each; their ids."""
    ids = []
    for i in range(first, first + n):
        reply = client.post("/credentials", json={"type": DEGREE, "subject": degree_subject(i)})
        assert reply.status_code == 201, reply.text
        ids.append(reply.json()["id"])
    return ids


def wait_anchored(client: httpx.Client, timeout: float) -> dict:
    """Poll /healthz until nothing waits and no batch is open; returns the last report."""
    deadline = time.monotonic() + timeout
    while True:
        work = client.get("/healthz").json()
        if work["pending_credentials"] == 0 and not work["batches"]:
            return work
        assert time.monotonic() < deadline, f"not anchored within {timeout} s: {work}"
        time.sleep(0.5)


def stored_batches(database_url: str):
    """(batches, credential rows) as the database holds them."""
    engine = init_database(database_url)
    try:
        with engine.connect() as conn:
            batches = conn.execute(select(BATCH)).all()
            creds = conn.execute(
                select(
                    CRED.c.id,
                    CRED.c.digest,
                    CRED.c.state,
                    CRED.c.batch_id,
                    CRED.c.leaf_index,
                    CRED.c.idempotency_key,
                    CRED.c.request_row,
                )
            ).all()
        return batches, creds
    finally:
        engine.dispose()


def idempotency_records(database_url: str) -> list:
    from ledger.storage.tables import IDEMPOTENCY

    engine = init_database(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(IDEMPOTENCY.c.key, IDEMPOTENCY.c.credential_id, IDEMPOTENCY.c.operation)).all()
    finally:
        engine.dispose()


def anchored_roots(home: Path) -> list[str]:
    """Every root the fresh deployment's ledger emitted an Anchored event for (repeats kept)."""
    from ledger.chain import LedgerClient, connect
    from ledger.protocol.digest import to_hex32

    config = load_settings(home)
    d = config.deployment
    w3 = connect(rpc_urls_for(config), d["chain_id"])
    events = LedgerClient(w3, d["ledger"]).events(names=["Anchored"])
    return [to_hex32(bytes(e.args["root"])) for e in events]


def verifier_for(home: Path):
    """verify(bundle) -> report, against the data directory's deployment and chain."""
    config = load_settings(home)
    d = config.deployment
    trust = TrustRoots.single(d["chain_id"], d["registry"], d["ledger"])
    reader = CachedChainReader(RpcChainReader({d["chain_id"]: rpc_urls_for(config)}))
    return lambda bundle: verify(bundle, trust, reader)


__all__ = [
    "AGENCY",
    "DEGREE",
    "IssuerProcess",
    "Verdict",
    "anchored_roots",
    "anchoring_held",
    "chain_down",
    "degree_subject",
    "idempotency_records",
    "make_home",
    "onboard",
    "stored_batches",
    "verifier_for",
    "wait_anchored",
]
