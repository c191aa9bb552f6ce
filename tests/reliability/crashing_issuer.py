"""The issuer app `certledger serve issuer` runs (``issuer_api.main.app_from_env``: the data directory
from the environment, serving and anchoring in one process), under uvicorn, with the crash tests' step
hook installed: with ``--crash-at <step>`` the process SIGKILLs itself when its anchorer reaches that
step (``tests.integration.crash_hooks``).

    python -m tests.reliability.crashing_issuer --port N [--crash-at STEP]
"""

from __future__ import annotations

import argparse

import uvicorn

from issuer_api.app import create_app
from issuer_api.main import freeze_startup_heap, log_to_stderr, service_from_env
from tests.integration.crash_hooks import ANCHORING_STEPS, kill_at


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--crash-at", choices=ANCHORING_STEPS)
    args = parser.parse_args(argv)
    log_to_stderr()
    service = service_from_env()
    service.ctx.on_step = kill_at(args.crash_at)
    app = create_app(service)
    freeze_startup_heap()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
