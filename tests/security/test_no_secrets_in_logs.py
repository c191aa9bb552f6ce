"""No private keys, API keys or share keys in any log.

Two parts:

* **Real processes.** `certledger serve issuer` and `certledger serve verifier` run as processes
  with their stdout and stderr (uvicorn's access and error logs included) in files; governance
  onboards an agency (the server creates its keys), keys are created and revoked, a credential is
  issued, anchored and shared, the share link is opened (also carelessly, with the key in the path
  or the query), and many requests fail while carrying keys (wrong scope, revoked, unknown, a key in
  the URL, in a malformed body). `certledger agency register` runs as a process too. Then every
  secret of that world — the API keys, the share key, every private key in the data directory's
  key files (decrypted with the passphrase), the passphrase — is looked for in the logs, in hex,
  base64, base64url and base58.
* **The session scan** (``tests/secret_scan.py``, hooked into every session by
  ``tests/conftest.py``) must fail a session whose logs leak: a pytest run of a leaky test shows
  the report and exits non-zero while its test passes.
"""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from certledger.cli import main
from certledger.cli.context import App
from ledger.content.links import parse_share_link
from ledger.governance.api_keys import create_api_key
from ledger.governance.key_files import load_key_file
from tests.integration.verifier_server import CLI, free_port
from tests.secret_scan import Registry

EDU = "zj-hz-education"
SUBJECT = {
    "name": "王伟",
    "idNumber": "330106199001011234",
    "degree": "工学学士",
    "major": "数学",
    "institution": "浙江大学",
    "graduationDate": "2024-06-30",
}


def _start(home: Path, service: str, port: int, log: Path, env: dict) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(
            [
                *CLI,
                "--data-dir",
                str(home),
                "serve",
                service,
                "--port",
                str(port),
                "--log-level",
                "info",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )


def _wait(client: httpx.Client, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            if client.get("/healthz").status_code in (200, 503):
                return
        except httpx.TransportError:
            pass
        assert server.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"{log.name}: the service did not start"
        time.sleep(0.2)


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def _bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_no_secret_reaches_the_services_logs(tmp_path):
    home = tmp_path / "home"
    for args in (["init", "--port", "0"], ["chain", "up"], ["deploy"]):
        assert main(["--data-dir", str(home), *args]) == 0
    issuer_log, verifier_log, cli_log = tmp_path / "issuer.log", tmp_path / "verifier.log", tmp_path / "cli.log"
    issuer_port, verifier_port = free_port(), free_port()
    verifier_url = f"http://127.0.0.1:{verifier_port}"
    api_keys: list[str] = []
    share_keys: list[bytes] = []
    issuer = verifier = None
    try:
        _, governance = create_api_key(App(home).engine, None, ["governance"], "secrets test")
        api_keys.append(governance)
        issuer = _start(
            home,
            "issuer",
            issuer_port,
            issuer_log,
            {
                "CERTLEDGER_RUN_ANCHORER": "1",
                "CERTLEDGER_BATCH_MAX_AGE_S": "1",
                "CERTLEDGER_VERIFIER_URL": verifier_url,
            },
        )
        verifier = _start(home, "verifier", verifier_port, verifier_log, {})
        with (
            httpx.Client(base_url=f"http://127.0.0.1:{issuer_port}", timeout=60) as api,
            httpx.Client(base_url=verifier_url, timeout=60) as public,
        ):
            _wait(api, issuer, issuer_log)
            _wait(public, verifier, verifier_log)
            # Key creation: onboarding (keys made by the server), more keys, one revoked.
            onboarded = api.post(
                "/agencies",
                json={"code": EDU, "name": "杭州市教育局", "types": ["DegreeCertificate"]},
                headers=_bearer(governance),
            )
            assert onboarded.status_code == 201, onboarded.text
            admin = onboarded.json()["apiKey"]
            issuer_key = api.post("/api-keys", json={"scopes": ["issue", "read"]}, headers=_bearer(admin)).json()
            reader = api.post("/api-keys", json={"scopes": ["read"]}, headers=_bearer(admin)).json()
            doomed = api.post("/api-keys", json={"scopes": ["read"]}, headers=_bearer(admin)).json()
            assert api.delete(f"/api-keys/{doomed['id']}", headers=_bearer(admin)).status_code == 200
            api_keys += [admin, issuer_key["apiKey"], reader["apiKey"], doomed["apiKey"]]
            # Issuing, anchoring (by the server's own worker), sharing.
            issued = api.post(
                "/credentials",
                json={"type": "DegreeCertificate", "subject": SUBJECT},
                headers={**_bearer(issuer_key["apiKey"]), "Idempotency-Key": "secrets-1"},
            )
            assert issued.status_code == 201, issued.text
            cid = issued.json()["id"]
            deadline = time.monotonic() + 60
            while api.get(f"/credentials/{cid}", headers=_bearer(reader["apiKey"])).json()["state"] != "anchored":
                assert time.monotonic() < deadline, issuer_log.read_text()[-3000:]
                time.sleep(0.3)
            # the share is stored just after the anchor (delivery, a chunk at a time): 409 until then
            while (
                shared := api.get(f"/credentials/{cid}/share", headers=_bearer(reader["apiKey"]))
            ).status_code == 409:
                assert time.monotonic() < deadline, issuer_log.read_text()[-3000:]
                time.sleep(0.3)
            assert shared.status_code == 200, shared.text
            link = parse_share_link(shared.json()["link"])
            share_keys.append(link.key)
            encoded = base64.urlsafe_b64encode(link.key).decode().rstrip("=")
            # Failing requests that carry secrets.
            failing = [
                api.post(
                    "/credentials",
                    json={"type": "DegreeCertificate", "subject": SUBJECT},
                    headers=_bearer(reader["apiKey"]),
                ),
                api.get("/credentials", headers=_bearer(doomed["apiKey"])),
                api.get("/credentials", headers=_bearer(admin[:-4] + "AAAA")),
                api.get(f"/credentials?api_key={admin}", headers={"X-API-Key": admin + "x"}),
                api.get(f"/nothing/{admin}"),
                api.post(
                    "/credentials",
                    content=f'{{"type": "{admin}", "subject": '.encode(),
                    headers={**_bearer(issuer_key["apiKey"]), "content-type": "application/json"},
                ),
                api.post("/types", json={"name": governance, "schema": {}}, headers=_bearer(admin)),
                api.post("/api-keys", json={"scopes": [admin]}, headers=_bearer(admin)),
                api.get(f"/credentials/{cid}%23k={encoded}", headers=_bearer(reader["apiKey"])),
            ]
            assert all(r.status_code >= 400 for r in failing), [r.status_code for r in failing]
            # The citizen's side: the link opened properly, and carelessly.
            bundle = api.get(f"/credentials/{cid}/bundle", headers=_bearer(reader["apiKey"])).content
            for path in (
                f"/s/{link.cid}",
                f"/content/{link.cid}",
                f"/s/{link.cid}%23k={encoded}",
                f"/s/{link.cid}?k={encoded}",
                f"/content/{link.cid}?k={encoded}",
                f"/?k={encoded}",
            ):
                public.get(path)
            assert public.get(link.url).status_code == 200  # httpx, like browsers, drops the fragment
            assert (
                public.post("/verify", content=bundle, headers={"Content-Type": "application/json"}).json()["verdict"]
                == "VALID"
            )
            assert public.post("/verify", content=f"not json {encoded} {admin}".encode()).status_code == 400
        # The CLI creating an agency's keys, as a process.
        with cli_log.open("w") as out:
            done = subprocess.run(
                [
                    *CLI,
                    "--data-dir",
                    str(home),
                    "agency",
                    "register",
                    "zj-hz-civil",
                    "--name",
                    "杭州市民政局",
                    "--types",
                    "ResidenceCertificate",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=120,
            )
        assert done.returncode == 0, cli_log.read_text()
    finally:
        for server in (issuer, verifier):
            if server is not None:
                _stop(server)
        main(["--data-dir", str(home), "chain", "down"])

    # Every secret of this world.
    secrets = Registry()
    passphrase = (home / "secrets" / "passphrase").read_text().strip()
    secrets.add_text(passphrase, "key passphrase")
    key_files = sorted((home / "keys").rglob("*.json"))
    kinds = {}
    for path in key_files:
        opened = load_key_file(path, passphrase)
        secrets.add(opened.secret, f"private key {path.relative_to(home)}")
        kinds[path.relative_to(home).parts[1] if len(path.relative_to(home).parts) > 2 else path.name] = opened.kind
    assert {"governance.json", "agencies"} <= set(kinds), kinds  # governance and both agencies' keys
    assert len([p for p in key_files if "agencies" in p.parts]) >= 4  # operator + signing key, two agencies
    for key in share_keys:
        secrets.add(key, "share key")
    for key in api_keys:
        secrets.add_text(key, "API key")
        secrets.add_text(key.rsplit("_", 1)[1], "API key secret part")

    logs = {path.name: path.read_text("utf-8", errors="replace") for path in (issuer_log, verifier_log, cli_log)}
    # The logs are there and saw the traffic (a scan of empty logs proves nothing).
    assert (
        '"POST /agencies HTTP/1.1" 201' in logs["issuer.log"]
        and '"GET /credentials HTTP/1.1" 401' in logs["issuer.log"]
    )
    assert f"/s/{link.cid}" in logs["verifier.log"] and '"POST /verify HTTP/1.1" 400' in logs["verifier.log"]
    assert "zj-hz-civil" in logs["cli.log"]
    leaks = [
        f"{what} in {name}: {excerpt[:12]}…"
        for name, text in logs.items()
        for what, excerpt in secrets.find(text) + [(w, t) for t, w in secrets.forms.items() if t in text]
    ]
    assert not leaks, "\n".join(sorted(set(leaks)))


# ------------------------------------------------------------------------- the session-wide scan


def test_registry_finds_secrets_in_every_form_and_nothing_else():
    from ledger.protocol.keys import SigningKey

    key = SigningKey.generate()
    registry = Registry()
    registry.add(key.seed_bytes(), "Ed25519 private key")
    seed = key.seed_bytes()
    for form in (
        seed.hex(),
        seed.hex().upper(),
        "0x" + seed.hex(),
        base64.b64encode(seed).decode(),
        base64.urlsafe_b64encode(seed).decode().rstrip("="),
        "z" + _b58(seed),
        "z" + _b58(b"\x80\x26" + seed),
        "expanded " + (seed + key.public_key.raw).hex(),
    ):
        assert registry.find(f"INFO x: value={form} end"), form
    public, other = key.public_key.raw, os.urandom(32)
    for harmless in (
        public.hex(),
        "0x" + other.hex(),
        key.public_key.multibase,
        key.public_key.did,
        "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
        "clk_0123456789ab",
    ):
        assert registry.find(f"INFO x: {harmless}") == [], harmless
    assert registry.find("Authorization: Bearer clk_0123456789ab_" + "A" * 43)
    assert registry.find("GET /s/bafk#k=" + "B" * 43) and registry.find("GET /s/bafk%23k%3D" + "B" * 43)


def _b58(data: bytes) -> str:
    from tests.secret_scan import _b58 as encode

    return encode(data)


LEAKY = """
import logging, subprocess, sys
from ledger.protocol.keys import SigningKey

def test_leaks_a_private_key_but_passes():
    key = SigningKey.generate()
    logging.getLogger("leaky.service").warning("loaded key %s", key.seed_bytes().hex())

def test_a_subprocess_logs_an_api_key_to_stderr(tmp_path):
    code = "import sys; print('Authorization: Bearer clk_0123456789ab_' + 'Q' * 43, file=sys.stderr)"
    subprocess.run([sys.executable, "-c", code], check=True)

def test_a_command_may_show_a_new_api_key_on_stdout(tmp_path):
    code = "print('new API key (shown once): clk_0123456789ab_' + 'S' * 43)"
    subprocess.run([sys.executable, "-c", code], check=True)

def test_a_service_log_file_holds_a_share_link(tmp_path):
    (tmp_path / "verifier.log").write_text("GET /s/bafkxyz#k=" + "k" * 43 + "\\n")
"""

CLEAN = """
import logging
from ledger.protocol.keys import SigningKey

def test_logs_only_public_things():
    key = SigningKey.generate()
    logging.getLogger("clean.service").warning("key %s, did %s", key.public_key.raw.hex(), key.public_key.did)
"""


@pytest.mark.parametrize("source,leaks", [(LEAKY, 3), (CLEAN, 0)], ids=["leaky", "clean"])
def test_the_session_scan_fails_a_session_whose_logs_leak(source, leaks):
    repo = Path(__file__).resolve().parents[2]
    # Outside this session's base directory: the inner session's leaks are not this session's logs.
    with tempfile.TemporaryDirectory(prefix="secret-scan-inner-") as folder:
        inner = Path(folder)
        (inner / "test_inner.py").write_text(source)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "tests.secret_scan",
                "-p",
                "no:cacheprovider",
                "--rootdir",
                str(inner),
                "--basetemp",
                str(inner / "basetemp"),
                str(inner / "test_inner.py"),
            ],
            capture_output=True,
            text=True,
            timeout=240,
            cwd=inner,
            env={**os.environ, "PYTHONPATH": str(repo)},
        )
    out = done.stdout + done.stderr
    if leaks:
        assert done.returncode == 1, out
        assert "4 passed" in out and "secrets in logs" in out and "3 secret(s) found" in out, out
        assert "Ed25519 private key in log records" in out, out
        assert "API key in captured output" in out and "[Captured stderr call]" in out, out
        assert "share key in a link in log file" in out, out
    else:
        assert done.returncode == 0, out
        assert "1 passed" in out and "secret scan: no secret" in out, out
    logging.getLogger(__name__).info("inner session exit status %s", done.returncode)
