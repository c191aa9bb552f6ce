"""Helpers for the services' tests: settings for a test world, a real uvicorn on a free loopback port
(in a thread of the test process, so its logs can be captured), `certledger serve` as a child
process, shares in a store."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn

from issuer_api.main import build_service
from issuer_api.service import IssuerService
from ledger.chain.embedded import rpc_urls_for
from ledger.config import Settings, load_settings
from ledger.content import LocalContentStore, build_share_link, encrypt_share
from ledger.protocol.deployment import Deployment
from ledger.protocol.keys import SigningKey
from ledger.protocol.rdfc import create_proof_rdfc
from ledger.settings import IssuerSettings
from verifier.app import create_app
from verifier.settings import VerifierSettings

CLI = [sys.executable, "-m", "certledger"]  # the command line as a child process, whatever PATH holds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(client: httpx.Client, process, output, what: str, timeout_s: float = 90) -> None:
    """Until ``GET /healthz`` answers 200; fails with the server's output (``output()``) if the
    process ``what`` names exits first, or after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, output()
        assert time.monotonic() < deadline, f"{what} did not become ready"
        time.sleep(0.2)


@dataclass
class Served:
    """A `certledger serve` child process that answered ``GET /healthz``."""

    url: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text()

    def client(self, **kw) -> httpx.Client:
        return httpx.Client(base_url=self.url, **{"timeout": 60, **kw})


@contextmanager
def serving(
    home: Path,
    service: str,
    *args: str,
    port: int | None = None,
    log: Path | None = None,
    env: dict | None = None,
    timeout_s: float = 90,
) -> Iterator[Served]:
    """`certledger --data-dir HOME serve SERVICE --port PORT *ARGS` (a free port unless given), with
    ``env`` over the test's environment and its output appended to ``log`` (by default
    ``SERVICE.log`` beside ``home``), once it is healthy; terminated on leaving unless the test
    already ended it."""
    port = port or free_port()
    log = log or home.parent / f"{service}.log"
    with log.open("ab") as out:  # the child holds its own descriptor: nothing to read from a pipe
        process = subprocess.Popen(
            [*CLI, "--data-dir", str(home), "serve", service, "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    served = Served(f"http://127.0.0.1:{port}", process, log)
    try:
        with served.client(timeout=30) as client:
            wait_healthy(client, process, served.output, f"the {service}", timeout_s)
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def issuer_service(home: Path) -> tuple[Settings, IssuerService]:
    """The issuer service of HOME's configuration, in this process (for a TestClient): no anchoring
    process, requests limited to 64 KiB of JSON and 1 MiB bodies."""
    config = load_settings(home)
    service = build_service(
        config,
        rpc_urls_for(config),
        IssuerSettings(
            verifier_url="http://127.0.0.1:8600",
            max_json_bytes=64 * 1024,
            max_body_bytes=1024 * 1024,
            run_anchorer=False,
        ),
    )
    return config, service


def settings_for(world, tmp: Path, **overrides) -> VerifierSettings:
    d = world.deployment
    base = VerifierSettings(
        trust_roots=(Deployment.trust_root(d.chain_id, d.registry, d.ledger, "test", d.block),),
        rpc_urls={world.chain_id: (world.rpc_url,)},
        database_url=f"sqlite:///{tmp / 'verifier-index.db'}",
        content_dir=str(tmp / "content"),
        poll_interval_s=0.25,
        batch_processes=1,
    )
    return replace(base, **overrides).check()


@dataclass
class RunningVerifier:
    url: str
    app: object
    server: uvicorn.Server
    thread: threading.Thread
    settings: VerifierSettings

    def client(self, **kw) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kw)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


def start_verifier(
    settings: VerifierSettings, *, log_config=uvicorn.config.LOGGING_CONFIG, **create_kw
) -> RunningVerifier:
    app = create_app(settings, **create_kw)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="info", access_log=True, log_config=log_config, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="verifier-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the verifier did not start")
        time.sleep(0.02)
    return RunningVerifier(f"http://127.0.0.1:{port}", app, server, thread, settings)


def share(store: LocalContentStore, bundle, verifier_url: str) -> tuple[str, str, bytes]:
    """Encrypt a bundle into the store; (link, cid, key)."""
    envelope, key = encrypt_share(bundle.to_bytes())
    cid = store.put(envelope)
    return build_share_link(verifier_url, cid, key).url, cid, key


def presentation_request(credential: dict, challenge: str) -> dict:
    """A VC API presentation request of ``credential``, signed eddsa-rdfc-2022 by a fresh holder for
    ``challenge``; the credential's proof, data model and validity checked (not its status lists)."""
    holder = SigningKey.generate()
    vp = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder.public_key.did,
        "verifiableCredential": [credential],
    }
    vp["proof"] = create_proof_rdfc(
        vp,
        holder,
        created=datetime.now(UTC),
        proof_purpose="authentication",
        challenge=challenge,
        domain="example.org",
    )
    return {
        "verifiablePresentation": vp,
        "options": {"challenge": challenge, "domain": "example.org", "checks": ["proof", "dataModel", "validity"]},
    }


__all__ = [
    "free_port",
    "presentation_request",
    "serving",
    "Served",
    "settings_for",
    "start_verifier",
    "RunningVerifier",
    "share",
]
