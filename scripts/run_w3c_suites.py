"""Run the W3C VC test suites (the conformance kit's run.sh) against CertLedger's VC API on loopback.

Usage: .venv/bin/python scripts/run_w3c_suites.py PATH/TO/KIT/run.sh [--keep DIR] [-- extra run.sh args]

A fresh data directory (or --keep DIR, kept afterwards) on the embedded chain: init, chain up,
deploy, an agency `w3c-suite` permitted the built-in GenericCredential type (docs/protocol.md §3.8),
an API key with the issue scope; then `certledger serve issuer` (its status lists published under
its own address) and `certledger serve verifier` on free loopback ports, and
`run.sh --issuer … --verifier … --issuer-did <the agency's did:key> --issuer-header 'Authorization:
Bearer …'`. Prints the kit's output; exits with its status. Everything it started is stopped.
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ledger.api_keys import create_api_key  # noqa: E402
from ledger.cli import main as cli  # noqa: E402
from ledger.cli.context import App  # noqa: E402
from ledger.did_key import did_from_public_key  # noqa: E402
from ledger.storage.models import AgencyRecord  # noqa: E402

AGENCY = "w3c-suite"
RUN_CLI = "import sys; from ledger.cli import main; sys.exit(main(sys.argv[1:]))"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(home: Path, what: str, port: int, env: dict) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", RUN_CLI, "--data-dir", str(home), "serve", what,
                                "--port", str(port)], cwd=ROOT, env={**os.environ, **env},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"certledger serve {what} did not start")
        time.sleep(0.3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_sh", type=Path)
    parser.add_argument("--keep", type=Path, default=None, help="data directory to use and keep")
    parser.add_argument("extra", nargs="*")
    args = parser.parse_args()
    tmp = None
    if args.keep is None:
        tmp = tempfile.TemporaryDirectory(prefix="certledger-w3c-")
        home = Path(tmp.name) / "home"
    else:
        home = args.keep
    steps = [["init", "--port", "0"], ["chain", "up"], ["deploy"],
             ["agency", "register", AGENCY, "--name", "W3C test-suite agency", "--types", "GenericCredential"]]
    if (home / "config.json").exists():
        steps = steps[1:]
    for step in steps:
        if cli(["--data-dir", str(home), *step]) != 0:
            raise SystemExit(f"certledger {' '.join(step)} failed")
    app = App(home)
    _, key = create_api_key(app.engine, AGENCY, ["issue"], "W3C suites")
    with app.engine.connect() as conn:
        record = conn.execute(AgencyRecord.__table__.select().where(AgencyRecord.code == AGENCY)).first()
    did = did_from_public_key(bytes.fromhex(record.signing_public_key[2:]))
    issuer_port, verifier_port = _free_port(), _free_port()
    servers = []
    try:
        servers.append(_serve(home, "issuer", issuer_port,
                              {"CERTLEDGER_STATUS_BASE_URL": f"http://127.0.0.1:{issuer_port}/status"}))
        servers.append(_serve(home, "verifier", verifier_port, {}))
        done = subprocess.run(["bash", str(args.run_sh), "--issuer", f"http://127.0.0.1:{issuer_port}",
                               "--verifier", f"http://127.0.0.1:{verifier_port}", "--issuer-did", did,
                               "--issuer-header", f"Authorization: Bearer {key}", *args.extra])
        return done.returncode
    finally:
        for server in reversed(servers):
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        cli(["--data-dir", str(home), "chain", "down"])
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
