"""The issuer's background work (the anchorer and the content retry queue) as a process of its own,
beside the API workers: `python -m issuer_api.background`, started by `certledger serve issuer`.

Why a process: closing and completing a batch of thousands of credentials holds the interpreter
lock for tens to hundreds of milliseconds, and requests to a worker that anchors queue behind it
(bench/bench_issue_http.py at 200 requests/s: median p99 73 ms over 7 runs with the anchorer inside
a worker, 29 ms over 16 runs beside them). The process exits when its parent does, and every second
writes its state to $CERTLEDGER_ANCHORER_STATUS for the workers' `/healthz` (``ledger.settings.IssuerSettings``).
"""

from __future__ import annotations

import logging
import os
import signal
import threading

from issuer_api.anchorer_status import write_status
from issuer_api.main import freeze_startup_heap, log_to_stderr, service_from_env
from ledger.settings import IssuerSettings

log = logging.getLogger("issuer_api")


def main() -> int:
    log_to_stderr()
    settings = IssuerSettings.from_environ()
    parent = settings.anchorer_parent or os.getppid()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    service = service_from_env(settings)
    status = settings.anchorer_status
    freeze_startup_heap()
    service.start()
    try:
        while not stop.wait(1.0):
            if os.getppid() != parent:  # the supervisor is gone (even by kill -9): so is this service
                log.warning("background process: the service that started it is gone; stopping")
                break
            if status is not None:
                write_status(status, service.anchorer_health())
    finally:
        service.stop()
        if status is not None:
            status.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
