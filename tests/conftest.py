"""Shared fixtures: a real anvil node, started by the tests and stopped after them."""

from __future__ import annotations

import pytest
from eth_account import Account

from ledger.chain import LedgerClient, RegistryClient, connect, deploy_contracts, make_sender
from ledger.chain.embedded import EmbeddedChain
from ledger.governance.accounts import fund_on_anvil

# No secret in any log of the session: the scan's hooks (tests/secret_scan.py) run for every session.
from tests.secret_scan import (  # noqa: F401 - pytest hooks
    pytest_runtest_logreport,
    pytest_sessionfinish,
    pytest_sessionstart,
    pytest_terminal_summary,
)


@pytest.fixture(scope="session")
def anvil(tmp_path_factory):
    chain = EmbeddedChain(tmp_path_factory.mktemp("anvil"), port=0)
    process = chain.up()
    yield process
    chain.down()


@pytest.fixture(scope="session")
def w3(anvil):
    return connect(anvil.rpc_url, anvil.chain_id)


def new_funded_account(rpc_url: str):
    """A fresh account with test ether: tests never share nonces."""
    account = Account.create()
    fund_on_anvil(rpc_url, account.address)
    return account


@pytest.fixture
def funded_account(anvil):
    return lambda: new_funded_account(anvil.rpc_url)


def deploy_fresh(w3, rpc_url: str) -> dict:
    """A fresh registry + ledger, governed by a fresh account."""
    governance = new_funded_account(rpc_url)
    sender = make_sender(w3, governance)
    deployment = deploy_contracts(sender)
    return {
        "deployment": deployment,
        "governance": governance,
        "registry": RegistryClient(w3, deployment.registry, sender),
        "ledger": LedgerClient(w3, deployment.ledger, sender),
    }


@pytest.fixture
def deployed(w3, anvil):
    return deploy_fresh(w3, anvil.rpc_url)
