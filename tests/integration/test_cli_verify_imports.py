"""`certledger verify` against the embedded chain without web3, eth_account or the database (issue 21),
and the web3-free chain reads giving what the web3 clients give."""

from __future__ import annotations

import json

import pytest

from certledger.cli import main
from ledger.chain.jsonrpc import connect_rpc
from ledger.chain.views import ContractViews
from ledger.protocol.identifiers import agency_id
from ledger.protocol.keys import SigningKey
from tests.cli_imports import run_cli
from tests.integration.cli_home import agency_home
from tests.integration.conftest import degree

pytestmark = pytest.mark.integration

SUBJECT = {
    "name": "张三",
    "degree": "学士",
    "major": "数学",
    "institution": "浙江大学",
    "graduationDate": "2024-06-30",
}


@pytest.fixture
def home(tmp_path):
    with agency_home(tmp_path / "home") as home:
        yield home


def test_verify_on_the_embedded_chain_loads_no_heavy_module(home, tmp_path):
    subject, bundle = tmp_path / "subject.json", tmp_path / "bundle.json"
    subject.write_text(json.dumps(SUBJECT, ensure_ascii=False))
    issued = ["issue", "--type", "DegreeCertificate", "--subject", str(subject), "--out", str(bundle)]
    assert main(["--data-dir", str(home), *issued]) == 0

    code, output, loaded = run_cli("--data-dir", str(home), "verify", str(bundle))
    assert (code, loaded) == (0, [])
    assert "verdict: VALID" in output

    assert main(["--data-dir", str(home), "suspend", str(bundle), "--reason", "administrative"]) == 0
    code, output, loaded = run_cli("--data-dir", str(home), "verify", "--json", str(bundle))
    assert (code, loaded) == (1, [])
    report = json.loads(output)
    assert report["verdict"] == "INVALID"
    assert [c["code"] for c in report["checks"] if c["name"] == "status"] == ["SUSPENDED"]

    assert main(["--data-dir", str(home), "chain", "down"]) == 0
    code, output, loaded = run_cli("--data-dir", str(home), "verify", "--json", str(bundle))
    assert (code, loaded) == (2, [])  # could not decide: the chain is away
    assert json.loads(output)["verdict"] == "ERROR"


def test_the_views_and_events_read_without_web3_match_the_web3_clients(world):
    code = "zj-hz-education"
    agency = world.agencies[code]
    batch, _ = world.anchor(code, [world.sign(code, degree(f"学生{i}")) for i in range(3)])
    digest = batch.digests[1]
    agency.ledger.suspend(digest, batch.root, batch.tree.proof(1), 5)
    world.registry.add_key(agency_id(code), SigningKey.generate().public_key.raw, 0)
    world.registry.set_agency_name(agency_id(code), "杭州市教育局 (renamed)")

    d = world.deployment
    views = ContractViews(connect_rpc([world.rpc_url], world.chain_id), d.ledger, d.registry)
    aid, key = agency_id(code), agency.signing_key.public_key.raw
    ledger, registry = agency.ledger, world.registry
    assert views.anchor_of(aid, batch.root) == ledger.anchor_of(aid, batch.root)
    assert views.anchor_of(aid, bytes(32)) == ledger.anchor_of(aid, bytes(32))
    assert views.status_of(aid, digest) == ledger.status_of(aid, digest)
    assert views.status_of(aid, digest).state == 1  # suspended
    assert views.root_status_of(aid, batch.root) == ledger.root_status_of(aid, batch.root)
    assert views.key_of(aid, key) == registry.key_of(aid, key)
    assert views.is_permitted(aid, bytes(32)) is registry.is_permitted(aid, bytes(32)) is False
    assert views.agency_info(aid) == registry.agency_info(aid)
    assert views.agency_info(aid).name == "杭州市教育局 (renamed)"

    head, head_hash = views.block("latest")
    assert head_hash == bytes(registry.w3.eth.get_block(head)["hash"])
    ours = views.events(0, head)
    theirs = ledger.events(0, head) + registry.events(0, head)
    assert ours == theirs
    assert {"Anchored", "StatusChanged", "KeyAdded", "AgencyNameChanged", "RoleGranted"} <= {e.name for e in ours}
