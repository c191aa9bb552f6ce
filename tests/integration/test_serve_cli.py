"""`certledger serve verifier` on the embedded defaults: the demo's data directory, two uvicorn
workers, the demo's bundles verified over HTTP as the demo expects, a share served from the data
directory's content store; and a clear error without a deployment."""

from __future__ import annotations

import json

import pytest

from certledger.cli import main
from certledger.cli.serve_cmds import _is_loopback
from ledger.content import LocalContentStore, encrypt_share
from tests.integration.verifier_server import free_port, serving

pytestmark = pytest.mark.integration


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    assert main(["--data-dir", str(home), "init", "--port", "0"]) == 0
    yield home
    main(["--data-dir", str(home), "chain", "down"])


def test_serve_verifier_without_a_deployment_says_what_to_do(home, capsys):
    assert main(["--data-dir", str(home), "serve", "verifier", "--port", str(free_port())]) == 1
    err = capsys.readouterr().err
    assert "no trust roots" in err and "certledger deploy" in err


def test_loopback_detection():
    assert all(_is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "::1", "localhost"))
    assert not any(_is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.10", "example.org"))


def test_serve_verifier_on_the_demo_data_directory(home, tmp_path):
    out = tmp_path / "out"
    assert main(["--data-dir", str(home), "demo", "--count", "8", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    envelope, key = encrypt_share((out / summary["bundles"][0]["file"]).read_bytes())
    cid = LocalContentStore(home / "content").put(envelope)
    with serving(home, "verifier", "--workers", "2") as server:
        with server.client(timeout=30) as client:
            for entry in summary["bundles"]:
                report = client.post(
                    "/verify", content=(out / entry["file"]).read_bytes(), headers={"Content-Type": "application/json"}
                ).json()
                expected = "VALID" if entry["expected"] == "VALID" else "INVALID"
                assert report["verdict"] == expected, (entry, report)
                if expected == "INVALID":
                    assert report["checks"][4]["code"] == entry["expected"]
            batch = "[" + ",".join((out / e["file"]).read_text() for e in summary["bundles"]) + "]"
            reports = client.post(
                "/verify/batch", content=batch.encode(), headers={"Content-Type": "application/json"}
            ).json()
            assert [r["verdict"] == "VALID" for r in reports] == [e["expected"] == "VALID" for e in summary["bundles"]]
            assert client.get(f"/content/{cid}").content == envelope
            assert client.get(f"/s/{cid}").status_code == 200
    output = server.output()
    assert f"verifier: {server.url}/  (2 workers)" in output
    assert "trusting: eip155:31337:0x" in output
    assert f"GET /s/{cid}" in output  # the access log, with no key in it
    assert key.hex() not in output
