"""`certledger serve issuer`: the uvicorn workers that answer requests and, beside them, one
background process that anchors and retries content (issuer_api.background), so that batch work
never holds up a request. The supervisor forwards SIGTERM/SIGINT to both, restarts the background
process if it dies, and stops when uvicorn does. Both children die with it, even after kill -9."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from http_common.metrics import MULTIPROC_ENV, multiprocess_dir
from ledger.settings import IssuerSettings

PR_SET_PDEATHSIG = 1
RESTART_DELAYS_S = (1, 2, 4, 8, 15, 30)
STEADY_S = 60.0  # a background process that ran this long starts the delays again from the first
# Batch work (trees, bundles, encryption) yields the cores to the workers' requests: at normal
# priority its bursts delayed the workers' commits by up to 380 ms, and with them every writer queued
# behind (bench_issue_http, 2 cores); niced, the longest commit measured was 35 ms.
BACKGROUND_NICE = 10


def die_with_parent() -> None:
    """In a child before exec (Linux): SIGTERM when the supervisor exits, however it exits."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the background process also polls its parent
        pass


def background_child() -> None:
    """In the background process before exec: dies with the supervisor, at lower priority."""
    die_with_parent()
    os.nice(BACKGROUND_NICE)


def serve(uvicorn_args: list[str], data_dir: Path, anchorer: bool) -> int:
    """Run until uvicorn exits (or a signal stops both); uvicorn's exit code."""
    status = data_dir / "run" / f"anchorer-{os.getpid()}.json"
    status.parent.mkdir(exist_ok=True)
    # Every process of this run counts its requests and anchored batches in one directory, which
    # each worker's /metrics sums (http_common.metrics).
    metrics = multiprocess_dir(data_dir, "issuer")
    shared = {**os.environ, MULTIPROC_ENV: str(metrics)}
    # Workers never anchor themselves; they report the background process's state from `status`.
    name = IssuerSettings.env_name
    workers_env = {**shared, name("run_anchorer"): "0", name("anchorer_status"): str(status)}
    background_env = {**shared, name("anchorer_status"): str(status), name("anchorer_parent"): str(os.getpid())}
    stopping = False

    def on_signal(sig, _frame):
        nonlocal stopping
        stopping = True
        for child in (api, background):
            if child is not None and child.poll() is None:
                child.send_signal(sig)

    def start_background():
        return subprocess.Popen(
            [sys.executable, "-m", "issuer_api.background"], env=background_env, preexec_fn=background_child
        )

    background = None
    api = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "issuer_api.main:app_from_env", "--factory", *uvicorn_args],
        env=workers_env,
        preexec_fn=die_with_parent,
    )
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        background, started, restarts = (start_background() if anchorer else None), time.monotonic(), 0
        while api.poll() is None:
            time.sleep(0.2)
            if background is None or stopping or background.poll() is None:
                continue
            restarts = 0 if time.monotonic() - started > STEADY_S else restarts
            delay = RESTART_DELAYS_S[min(restarts, len(RESTART_DELAYS_S) - 1)]
            print(
                f"issuer: the anchoring process exited (code {background.returncode}); restarting it in {delay} s",
                file=sys.stderr,
                flush=True,
            )
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline and not stopping and api.poll() is None:
                time.sleep(0.2)
            if not stopping and api.poll() is None:
                background, started, restarts = start_background(), time.monotonic(), restarts + 1
        return api.returncode
    finally:
        for child in (api, background):
            if child is not None and child.poll() is None:
                child.terminate()
        for child in (api, background):
            if child is not None:
                try:
                    child.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        status.unlink(missing_ok=True)
        shutil.rmtree(metrics, ignore_errors=True)
