"""Helpers for the verifier service's tests: settings for a test world, a real uvicorn on a free
loopback port (in a thread of the test process, so its logs can be captured), shares in a store."""

from __future__ import annotations

import socket
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import uvicorn

from ledger.content import LocalContentStore, build_share_link, encrypt_share
from verifier.app import create_app
from verifier.settings import DeploymentRoot, VerifierSettings

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


def settings_for(world, tmp: Path, **overrides) -> VerifierSettings:
    d = world.deployment
    base = VerifierSettings(
        trust_roots=(DeploymentRoot(d.chain_id, d.registry.lower(), d.ledger.lower(), "test", d.block),),
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


__all__ = ["free_port", "settings_for", "start_verifier", "RunningVerifier", "share"]
