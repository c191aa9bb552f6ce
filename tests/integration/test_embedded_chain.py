"""`certledger init / chain up|down|status / deploy` with a real anvil: state survives restarts."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from web3 import Web3

from certledger.cli import main
from certledger.cli.context import App
from ledger.chain import LedgerClient, make_sender
from ledger.protocol.merkle import MerkleTree

pytestmark = pytest.mark.integration


@pytest.fixture
def data_dir(tmp_path):
    home = tmp_path / "home"
    assert main(["--data-dir", str(home), "init", "--port", "0"]) == 0
    yield home
    main(["--data-dir", str(home), "chain", "down"])


def cli(data_dir, *args) -> int:
    return main(["--data-dir", str(data_dir), *args])


def operator_ledger(data_dir):
    app = App(data_dir)
    registry = app.registry(app.governance)
    registry.register_agency("persist-test", "Persistence Test Agency")
    operator = funded_account_at(app)
    registry.add_operator(Web3.keccak(text="persist-test"), operator.address)
    return app, LedgerClient(app.w3, app.deployment().ledger, make_sender(app.w3, operator))


def funded_account_at(app):
    from eth_account import Account

    from ledger.governance.accounts import fund_on_anvil

    account = Account.create()
    fund_on_anvil(app.rpc_urls()[0], account.address)
    return account


def test_state_survives_down_and_up(data_dir, capsys):
    assert cli(data_dir, "chain", "status") == 3
    assert cli(data_dir, "chain", "up") == 0
    assert cli(data_dir, "chain", "up") == 1  # refuses to start twice
    assert "already running" in capsys.readouterr().err
    assert cli(data_dir, "deploy") == 0
    assert cli(data_dir, "deploy") == 0  # idempotent: recorded and live, nothing redeployed
    assert "already deployed" in capsys.readouterr().out
    config = json.loads((data_dir / "config.json").read_text())
    assert config["deployment"]["chain_id"] == 31337

    app, ledger = operator_ledger(data_dir)
    batch = [Web3.keccak(text=f"credential {i}") for i in range(5)]
    tree = MerkleTree.build(batch)
    ledger.anchor(tree.root, 5)
    ledger.revoke(batch[2], tree.root, tree.proof(2), 3)
    ledger.suspend(batch[1], tree.root, tree.proof(1), 5)
    agency_id = Web3.keccak(text="persist-test")
    before = ledger.anchor_of(agency_id, tree.root)
    assert before.anchored

    assert cli(data_dir, "chain", "down") == 0
    assert cli(data_dir, "chain", "status") == 3
    assert cli(data_dir, "chain", "up") == 0

    app = App(data_dir)
    reader = app.ledger()
    assert reader.anchor_of(agency_id, tree.root) == before
    assert reader.status_of(agency_id, batch[2]).state == 2 and reader.status_of(agency_id, batch[2]).reason == 3
    assert reader.status_of(agency_id, batch[1]).state == 1
    assert reader.status_of(agency_id, batch[0]).state == 0
    info = app.registry().agency_info(agency_id)
    assert info.registered and info.code == "persist-test" and info.name == "Persistence Test Agency"


def test_crash_loses_at_most_the_state_interval(data_dir, capsys):
    assert cli(data_dir, "chain", "up") == 0
    assert cli(data_dir, "deploy") == 0
    app, ledger = operator_ledger(data_dir)
    root = Web3.keccak(text="anchored before the crash")
    ledger.anchor(root, 1)
    time.sleep(2.5)  # > state_interval (1 s): the dump has happened

    pid = json.loads((data_dir / "chain" / "anvil.json").read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.3)
    capsys.readouterr()
    assert cli(data_dir, "chain", "status") == 3
    assert "stale" in capsys.readouterr().out
    assert cli(data_dir, "chain", "up") == 0
    assert App(data_dir).ledger().anchor_of(Web3.keccak(text="persist-test"), root).anchored


def test_deploy_without_chain_is_a_clear_error(data_dir, capsys):
    assert cli(data_dir, "deploy") == 1
    assert "chain up" in capsys.readouterr().err
