"""A real IPFS node for the tests: js-ipfs (npm ``ipfs``, in node_modules) running offline with
the Kubo-style RPC API on free loopback ports, in a throw-away repository.

``IpfsDaemon(repo).start()`` initialises the repository (``jsipfs init --emptyRepo``), writes
its configuration (no swarm, no gateway, no bootstrap, no MDNS; API and gRPC on free loopback
ports), starts ``jsipfs daemon --offline`` and waits until ``/api/v0/version`` answers;
``stop()`` ends that process (only it, by its id) and ``remove()`` deletes the repository.

The fixture ``ipfs_daemon`` (session scope) yields a started daemon and cleans up after the
session; ``tests/integration/conftest.py`` imports it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JSIPFS = ROOT / "node_modules" / "ipfs" / "src" / "cli.js"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class IpfsDaemon:
    def __init__(self, repo: Path, *, node: str = "node") -> None:
        self.repo = Path(repo)
        self.node = shutil.which(node) or node
        self.api_port: int | None = None
        self.process: subprocess.Popen | None = None
        self.log_path = self.repo.parent / f"{self.repo.name}.log"

    # -- addresses ------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def api_multiaddr(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.api_port}/http"

    # -- lifecycle ------------------------------------------------------------------------

    def _env(self) -> dict:
        env = dict(os.environ)
        env["IPFS_PATH"] = str(self.repo)
        env.pop("IPFS_API", None)
        return env

    def _init(self) -> None:
        if not JSIPFS.exists():
            pytest.fail(f"js-ipfs is not installed ({JSIPFS} missing): run `npm install`")
        if (self.repo / "config").exists():
            return
        self.repo.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [self.node, str(JSIPFS), "init", "--emptyRepo"],
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"jsipfs init failed ({done.returncode}): {done.stdout}{done.stderr}")

    def _configure(self) -> None:
        path = self.repo / "config"
        config = json.loads(path.read_text())
        self.api_port = free_port()
        config["Addresses"].update(
            {
                "Swarm": [],
                "Announce": [],
                "API": f"/ip4/127.0.0.1/tcp/{self.api_port}",
                "Gateway": [],  # no HTTP gateway
                "RPC": f"/ip4/127.0.0.1/tcp/{free_port()}",  # gRPC-over-websocket (cannot be off)
                "Delegates": [],
            }
        )
        config["Bootstrap"] = []
        config.setdefault("Discovery", {}).update({"MDNS": {"Enabled": False}, "webRTCStar": {"Enabled": False}})
        path.write_text(json.dumps(config, indent=2))
        (self.repo / "api").unlink(missing_ok=True)  # left by a killed daemon

    def start(self, timeout: float = 90.0, attempts: int = 3) -> IpfsDaemon:
        """Start and wait for the API; a port taken between choosing and binding it is retried
        with new ports."""
        self._init()
        for attempt in range(attempts):
            try:
                return self._start_once(timeout)
            except RuntimeError as exc:
                if "EADDRINUSE" not in str(exc) or attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def _start_once(self, timeout: float) -> IpfsDaemon:
        self._configure()
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                [self.node, str(JSIPFS), "daemon", "--offline", "--enable-preload=false"],
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"js-ipfs daemon exited ({self.process.returncode}):\n{self.log_tail()}")
            if self.answers():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"js-ipfs daemon did not answer on {self.api_url} within {timeout}s:\n{self.log_tail()}")

    def answers(self) -> bool:
        request = urllib.request.Request(f"{self.api_url}/api/v0/version", method="POST", data=b"")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return response.status == 200 and b"Version" in response.read()
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, timeout: float = 20.0) -> None:
        """End the daemon this object started (its own process group), gracefully first."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(10)

    def remove(self) -> None:
        shutil.rmtree(self.repo, ignore_errors=True)
        self.log_path.unlink(missing_ok=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@pytest.fixture(scope="session")
def ipfs_daemon(tmp_path_factory):
    """A started js-ipfs daemon for the whole session; stopped and removed afterwards."""
    daemon = IpfsDaemon(tmp_path_factory.mktemp("ipfs") / "repo")
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.stop()
        daemon.remove()
