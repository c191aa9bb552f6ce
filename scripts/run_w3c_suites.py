"""Run the W3C VC test suites (the conformance kit's run.sh) against CertLedger's VC API on loopback.

Usage: .venv/bin/python scripts/run_w3c_suites.py PATH/TO/KIT/run.sh [--keep DIR] [-- extra run.sh args]

A fresh data directory (or --keep DIR, kept afterwards) on the embedded chain: init, chain up,
deploy, an agency `w3c-suite` permitted the built-in GenericCredential type (docs/protocol.md §3.8),
an API key with the issue scope; then `certledger serve issuer` (its status lists published under
its own address) and `certledger serve verifier` on free loopback ports, and
`run.sh --issuer … --verifier … --issuer-did <the agency's did:key> --issuer-header 'Authorization:
Bearer …'`. Prints the kit's output; exits with its status. Everything it started is stopped.

The pieces (:func:`prepare`, :func:`start_services`, :func:`kit_command`, :func:`stop_services`)
are what tests/interop/test_w3c_suites.py runs too.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from certledger.cli import main as cli  # noqa: E402
from certledger.cli.context import App  # noqa: E402
from ledger.governance.api_keys import create_api_key  # noqa: E402
from ledger.protocol.did_key import did_from_public_key  # noqa: E402
from ledger.storage.models import AgencyRecord  # noqa: E402

CLI = [sys.executable, "-m", "certledger"]  # the command line, whatever PATH holds

AGENCY = "w3c-suite"


@dataclass
class Services:
    """The two services on loopback, as started by :func:`start_services`."""

    issuer_url: str
    verifier_url: str
    processes: list = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(home: Path, what: str, port: int, env: dict, log: Path | None = None) -> subprocess.Popen:
    """`certledger serve <what>` (uvicorn) on loopback; its output to ``log`` (or nowhere), once
    /healthz answers 200."""
    out = log.open("w") if log is not None else subprocess.DEVNULL
    try:
        process = subprocess.Popen(
            [*CLI, "--data-dir", str(home), "serve", what, "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    finally:
        if log is not None:
            out.close()
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"certledger serve {what} did not start" + (f" (see {log})" if log else ""))
        time.sleep(0.3)


def prepare(home: Path) -> tuple[str, str]:
    """The data directory ``home`` ready for the suites (created when it has no configuration; the
    embedded chain started): (an API key of the agency with the issue scope, the agency's did:key)."""
    steps = [
        ["init", "--port", "0"],
        ["chain", "up"],
        ["deploy"],
        ["agency", "register", AGENCY, "--name", "W3C test-suite agency", "--types", "GenericCredential"],
    ]
    if (home / "config.json").exists():
        steps = steps[1:]
    for step in steps:
        if cli(["--data-dir", str(home), *step]) != 0:
            raise RuntimeError(f"certledger {' '.join(step)} failed")
    app = App(home)
    _, key = create_api_key(app.engine, AGENCY, ["issue"], "W3C suites")
    with app.engine.connect() as conn:
        record = conn.execute(AgencyRecord.__table__.select().where(AgencyRecord.code == AGENCY)).first()
    return key, did_from_public_key(bytes.fromhex(record.signing_public_key[2:]))


def start_services(home: Path, log_dir: Path | None = None) -> Services:
    """`serve issuer` (status lists under its own address) and `serve verifier` on free loopback ports;
    their output in ``log_dir``/issuer.log and verifier.log when given. Stop with :func:`stop_services`
    (when one does not start, the other is stopped here, and the error raised)."""
    issuer_port, verifier_port = _free_port(), _free_port()
    services = Services(f"http://127.0.0.1:{issuer_port}", f"http://127.0.0.1:{verifier_port}")
    try:
        services.processes.append(
            _serve(
                home,
                "issuer",
                issuer_port,
                {"CERTLEDGER_STATUS_BASE_URL": f"{services.issuer_url}/status"},
                log_dir / "issuer.log" if log_dir else None,
            )
        )
        services.processes.append(
            _serve(home, "verifier", verifier_port, {}, log_dir / "verifier.log" if log_dir else None)
        )
    except BaseException:
        _terminate(services.processes)
        raise
    return services


def kit_command(run_sh: Path, services: Services, did: str, key: str, *extra: str) -> list[str]:
    return [
        "bash",
        str(run_sh),
        "--issuer",
        services.issuer_url,
        "--verifier",
        services.verifier_url,
        "--issuer-did",
        did,
        "--issuer-header",
        f"Authorization: Bearer {key}",
        *extra,
    ]


def _terminate(processes: list) -> None:
    for process in reversed(processes):
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stop_services(services: Services | None, home: Path) -> None:
    """The services (if they were started), then the embedded chain (if it runs)."""
    _terminate(services.processes if services is not None else [])
    if (home / "config.json").exists():
        cli(["--data-dir", str(home), "chain", "down"])


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
    services = None
    try:
        key, did = prepare(home)
        services = start_services(home)
        return subprocess.run(kit_command(args.run_sh, services, did, key, *args.extra)).returncode
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None
    finally:
        stop_services(services, home)  # also when the set-up failed after the chain started
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
