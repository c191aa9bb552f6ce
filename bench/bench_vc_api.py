"""The W3C VC API verifier under load, and eddsa-rdfc-2022 verification in one process.

Run: .venv/bin/python bench/bench_vc_api.py [--workers 2] [--seconds 10] [--connections 16] [--rdfc 300]
     [--python-load]
Targets (issue 19): POST /credentials/verify with options.checks ["proof"] >= 2,000/s on 2 workers;
the eddsa-rdfc-2022 verification rate is measured and reported.

What it does:
  1. signs 2,000 distinct credentials as POST /credentials/issue makes them (generic profile:
     VC 2.0 + undefined-terms + examples contexts, eddsa-jcs-2022) with a throwaway key;
  2. starts `python -m uvicorn --factory bench_vc_api:make_app --workers N` on a free loopback port:
     the real verifier app (verifier.app.create_app) with a stub chain reader, since proof-only
     checks never read the chain;
  3. drives POST /credentials/verify {"verifiableCredential": VC, "options": {"checks": ["proof"]}}
     with `wrk` (apt package wrk, which scripts/install-system-deps.sh installs; a Lua script rotates
     over the bodies and counts any answer that is not a 200 with "verified": true) for a fixed time,
     after a short warm-up. Without wrk (or with --python-load) the Python load generator of
     bench_verifier_service.py does it instead, and the output says so: it saturates far below the
     service, so its rate is a floor;
  4. times ledger.protocol.rdfc.verify_proof_rdfc on distinct eddsa-rdfc-2022 credentials (the W3C examples
     context, as the data-model suite signs them) in this process, and a presentation holding one.
Every target is loopback only; every loop is bounded in count and time; the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from ledger.governance.key_files import SigningKey  # noqa: E402
from ledger.protocol.proof import add_proof  # noqa: E402
from ledger.protocol.status_list import status_entries  # noqa: E402

V2 = "https://www.w3.org/ns/credentials/v2"
UNDEFINED = "https://www.w3.org/ns/credentials/undefined-terms/v2"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"

WRK_SCRIPT = r"""
local bodies = {}
local counter = 0

function init(args)
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
  counter = math.random(#bodies)
end

function request()
  counter = counter % #bodies + 1
  return wrk.format("POST", "/credentials/verify", {["Content-Type"] = "application/json"}, bodies[counter])
end

local bad = 0
function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"verified": true', 1, true) then bad = bad + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors_socket=%d non2xx=%d\n", summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
  io.write(string.format("RESULT p50_us=%d p90_us=%d p99_us=%d max_us=%d\n", latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def make_app():
    """The verifier app for the load test: real routes and middleware, a chain reader that is never
    asked (proof-only checks do not read the chain)."""
    from ledger.protocol.deployment import Deployment
    from verifier.app import create_app
    from verifier.settings import VerifierSettings

    class NoChain:
        def state(self):
            return [{"ready": True}]

    zero = "0x" + "00" * 20
    settings = VerifierSettings(
        trust_roots=(Deployment.trust_root(31337, zero, zero, "bench", 0),),
        rpc_urls={31337: ("http://127.0.0.1:9",)},
        database_url="sqlite://",
        content_dir=tempfile.mkdtemp(prefix="bench-vc-api-"),
        batch_processes=1,
        rate_limit_per_s=0,
    )
    return create_app(settings.check(), reader=NoChain(), start_indexer=False, use_batch_pool=False)


def credentials(n: int) -> list[dict]:
    key = SigningKey.generate()
    issuer = {"id": key.public_key.did, "name": "Bench agency", "agency": "urn:certledger:agency:bench"}
    out = []
    for i in range(n):
        doc = {
            "@context": [V2, UNDEFINED, EXAMPLES],
            "id": f"urn:uuid:00000000-0000-4000-8000-{i:012d}",
            "type": ["VerifiableCredential", "GenericCredential", "ExampleCredential"],
            "issuer": issuer,
            "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {"id": f"did:example:{i}", "name": f"Holder {i}"},
            "credentialStatus": status_entries("http://127.0.0.1:8000/status", "bench", 1, i),
        }
        out.append(add_proof(doc, key, created="2026-01-01T00:00:00Z"))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_wrk(url: str, bodies_file: Path, seconds: int, connections: int, threads: int) -> dict:
    script = bodies_file.parent / "verify.lua"
    script.write_text(WRK_SCRIPT)
    done = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            url,
            "--",
            str(bodies_file),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    text = done.stdout
    fields = dict(re.findall(r"(\w+)=(\d+)", " ".join(line for line in text.splitlines() if line.startswith("RESULT"))))
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    return {
        "tool": "wrk",
        "per_s": float(rate.group(1)) if rate else 0.0,
        "requests": int(fields.get("requests", 0)),
        "non2xx": int(fields.get("non2xx", 0)),
        "socket_errors": int(fields.get("errors_socket", 0)),
        "p50_ms": int(fields.get("p50_us", 0)) / 1000,
        "p99_ms": int(fields.get("p99_us", 0)) / 1000,
        "command": f"wrk -t{threads} -c{connections} -d{seconds}s -s verify.lua {url} -- bodies.jsonl",
    }


def _verified(status: int, content: bytes) -> bool:
    return status == 200 and b'"verified": true' in content


def python_load(url: str, bodies_file: Path, seconds: int, connections: int) -> dict:
    """The same load from Python (asyncio + httpx), for a machine without wrk."""
    import asyncio

    from bench_verifier_service import _python_load

    bodies = [line.encode() for line in bodies_file.read_text().splitlines() if line]
    load = asyncio.run(
        _python_load(
            url, bodies, seconds, connections, max_requests=500_000, path="/credentials/verify", accept=_verified
        )
    )
    load["non2xx"] = load.pop("not_valid")
    return {**load, "command": f"python asyncio + httpx, {connections} connections, {seconds} s"}


def http_benchmark(workers: int, seconds: int, connections: int, use_wrk: bool = True) -> dict:
    if use_wrk and shutil.which("wrk") is None:
        use_wrk = False
    if not use_wrk:
        from bench_verifier_service import PYTHON_LOAD_NOTICE

        print(PYTHON_LOAD_NOTICE, flush=True)
    creds = credentials(2000)
    with tempfile.TemporaryDirectory() as tmp:
        bodies = Path(tmp) / "bodies.jsonl"
        bodies.write_text(
            "\n".join(json.dumps({"verifiableCredential": c, "options": {"checks": ["proof"]}}) for c in creds) + "\n"
        )
        port = _free_port()
        env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bench'}"}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "bench_vc_api:make_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            body = {"verifiableCredential": creds[0], "options": {"checks": ["proof"]}}
            while True:
                try:
                    answer = httpx.post(url + "/credentials/verify", json=body, timeout=5)
                    if answer.status_code == 200 and answer.json()["verified"]:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the verifier did not start: " + (server.stderr.read() or "")[-2000:])
                time.sleep(0.2)
            if use_wrk:
                run_wrk(url, bodies, 2, connections, 1)  # warm-up
                result = run_wrk(url, bodies, seconds, connections, 1)
            else:
                python_load(url, bodies, 2, connections)  # warm-up
                result = python_load(url, bodies, seconds, connections)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    result.update(workers=workers, seconds=seconds, connections=connections)
    return result


def rdfc_benchmark(n: int) -> dict:
    from ledger.protocol.rdfc import create_proof_rdfc, verify_proof_rdfc

    key = SigningKey.generate()
    docs = []
    for i in range(n):
        doc = {
            "@context": [V2, EXAMPLES],
            "id": f"urn:uuid:00000000-0000-4000-8000-{i:012d}",
            "type": ["VerifiableCredential", "ExampleCredential"],
            "issuer": key.public_key.did,
            "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {"id": f"did:example:{i}", "name": f"H {i}"},
        }
        docs.append({**doc, "proof": create_proof_rdfc(doc, key, created="2026-01-01T00:00:00Z")})
    verify_proof_rdfc(docs[0])  # contexts loaded and processed once
    started = time.perf_counter()
    for doc in docs:
        verify_proof_rdfc(doc)
    credential_s = time.perf_counter() - started
    vp = {
        "@context": [V2],
        "type": ["VerifiablePresentation"],
        "holder": key.public_key.did,
        "verifiableCredential": [docs[0]],
    }
    vp = {
        **vp,
        "proof": create_proof_rdfc(
            vp, key, created=datetime.now(UTC), proof_purpose="authentication", challenge="bench", domain="example.org"
        ),
    }
    rounds = max(20, n // 10)
    started = time.perf_counter()
    for _ in range(rounds):
        verify_proof_rdfc(vp, expected_proof_purpose="authentication")
    vp_s = time.perf_counter() - started
    return {
        "credentials": n,
        "credential_per_s": round(n / credential_s),
        "credential_ms": credential_s / n * 1e3,
        "presentation_per_s": round(rounds / vp_s),
        "presentation_ms": vp_s / rounds * 1e3,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rdfc", type=int, default=300, help="eddsa-rdfc-2022 credentials to verify")
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator even if wrk exists")
    args = parser.parse_args()
    rdfc = rdfc_benchmark(args.rdfc)
    print(
        f"eddsa-rdfc-2022, one process: {rdfc['credential_per_s']:,}/s credentials "
        f"({rdfc['credential_ms']:.2f} ms), {rdfc['presentation_per_s']:,}/s presentations holding one "
        f"credential (proof of the presentation, {rdfc['presentation_ms']:.2f} ms)",
        flush=True,
    )
    verify = http_benchmark(args.workers, args.seconds, args.connections, use_wrk=not args.python_load)
    print(
        f"POST /credentials/verify, checks [proof], {args.workers} workers: {verify['per_s']:,.0f}/s, "
        f"p50 {verify['p50_ms']:.1f} ms, p99 {verify['p99_ms']:.1f} ms, {verify['non2xx']} not verified, "
        f"{verify['socket_errors']} socket errors [{verify['tool']}] ({verify['command']})",
        flush=True,
    )
    print(json.dumps({"verify_proof_only": verify, "rdfc": rdfc}))
    return 0 if verify["non2xx"] == 0 and verify["socket_errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
