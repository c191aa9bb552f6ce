"""`certledger serve issuer` as real processes (two uvicorn workers, one anchoring by lease):
onboard an agency, issue over HTTP, the bundle anchors by itself and verifies VALID."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from ledger.api_keys import create_api_key
from ledger.cli import main
from ledger.cli.context import App
from tests.integration.verifier_server import free_port, wait_healthy
from verifier import CachedChainReader, RpcChainReader, TrustRoots, Verdict, verify

pytestmark = pytest.mark.integration

RUN_CLI = "import sys; from ledger.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    for args in (["init", "--port", "0"], ["chain", "up"], ["deploy"]):
        assert main(["--data-dir", str(home), *args]) == 0
    yield home
    main(["--data-dir", str(home), "chain", "down"])


def test_serve_issuer_end_to_end(home):
    app = App(home)
    _, governance = create_api_key(app.engine, None, ["governance"], "test")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", RUN_CLI, "--data-dir", str(home), "serve", "issuer",
                               "--port", str(port), "--workers", "2"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, "CERTLEDGER_RUN_ANCHORER": "1"})
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            wait_healthy(client, server, server.stdout.read, "the issuer")
            assert "/credentials" in client.get("/openapi.json").json()["paths"]
            agency = client.post("/agencies", json={"code": "zj-hz-education", "name": "杭州市教育局",
                                                    "types": ["DegreeCertificate"]},
                                 headers={"Authorization": f"Bearer {governance}"})
            assert agency.status_code == 201, agency.text
            auth = {"Authorization": f"Bearer {agency.json()['apiKey']}"}
            subject = {"name": "张三", "degree": "学士", "major": "数学", "institution": "浙江大学",
                       "graduationDate": "2024-06-30"}
            issued = client.post("/credentials", json={"type": "DegreeCertificate", "subject": subject}, headers=auth)
            assert issued.status_code == 201, issued.text
            cid = issued.json()["id"]
            deadline = time.monotonic() + 60  # batches close after 5 s by default
            while client.get(f"/credentials/{cid}", headers=auth).json()["state"] != "anchored":
                assert time.monotonic() < deadline, "not anchored within a minute"
                time.sleep(0.5)
            bundle = client.get(f"/credentials/{cid}/bundle", headers=auth).content
            assert client.get(f"/credentials/{cid}/share", headers=auth).status_code == 200
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    d = App(home).deployment()
    reader = CachedChainReader(RpcChainReader({d.chain_id: App(home).rpc_urls()}))
    assert verify(bundle, TrustRoots.single(d.chain_id, d.registry, d.ledger), reader).verdict is Verdict.VALID
    assert "issuer API: http://127.0.0.1" in output
    assert governance not in output
