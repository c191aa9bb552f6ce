"""Shared fixtures: a real anvil node, started by the tests and stopped after them."""
from __future__ import annotations

import pytest
from eth_account import Account

from ledger.accounts import fund_on_anvil
from ledger.chain import LedgerClient, RegistryClient, connect, deploy_contracts, make_sender
from ledger.embedded_chain import EmbeddedChain


@pytest.fixture(scope="session")
def anvil(tmp_path_factory):
    chain = EmbeddedChain(tmp_path_factory.mktemp("anvil"), port=0)
    process = chain.up()
    yield process
    chain.down()


@pytest.fixture(scope="session")
def w3(anvil):
    return connect(anvil.rpc_url, anvil.chain_id)


@pytest.fixture
def funded_account(anvil):
    """A fresh account with test ether: tests never share nonces."""
    def make():
        account = Account.create()
        fund_on_anvil(anvil.rpc_url, account.address)
        return account
    return make


@pytest.fixture
def deployed(w3, funded_account):
    """A fresh registry + ledger, governed by a fresh account."""
    governance = funded_account()
    sender = make_sender(w3, governance)
    deployment = deploy_contracts(sender)
    return {
        "deployment": deployment,
        "governance": governance,
        "registry": RegistryClient(w3, deployment.registry, sender),
        "ledger": LedgerClient(w3, deployment.ledger, sender),
    }
