"""The chain client against a real anvil node: every function, typed reads, events, clear errors."""
from __future__ import annotations

import os

import pytest
from eth_account import Account
from web3 import Web3

from ledger.chain import (
    ContractReverted,
    CredentialState,
    LedgerClient,
    NodeUnreachable,
    Reason,
    RegistryClient,
    WrongChainId,
    connect,
    make_sender,
)
from ledger.merkle import MerkleTree

pytestmark = pytest.mark.integration


def agency_id(code: str) -> bytes:
    return Web3.keccak(text=code)


def setup_agency(deployed, funded_account, code: str):
    """Register an agency with one operator; return (operator account, ledger client as operator)."""
    registry: RegistryClient = deployed["registry"]
    operator = funded_account()
    registry.register_agency(code)
    registry.add_operator(agency_id(code), operator.address)
    ledger = LedgerClient(registry.w3, deployed["deployment"].ledger, make_sender(registry.w3, operator))
    return operator, ledger


def digests(n: int, salt: bytes = b"") -> list[bytes]:
    return [Web3.keccak(salt + i.to_bytes(4, "big")) for i in range(n)]


def test_registry_functions_and_reads(deployed, funded_account):
    registry: RegistryClient = deployed["registry"]
    code = "zj-hz-education"
    registry.register_agency(code)
    record = registry.agency(agency_id(code))
    assert (record.exists, record.active, record.index, record.code) == (True, True, 1, code)
    assert registry.agency_count() == 1

    operator = funded_account()
    registry.add_operator(agency_id(code), operator.address)
    assert registry.agency_of(operator.address) == agency_id(code)

    type_id = Web3.keccak(text="DegreeCertificate")
    assert not registry.is_permitted(agency_id(code), type_id)
    registry.set_type_permitted(agency_id(code), type_id, True)
    assert registry.is_permitted(agency_id(code), type_id)

    key = os.urandom(32)
    added = registry.add_key(agency_id(code), key, 0)
    key_record = registry.key_of(key)
    assert key_record.agency_id == agency_id(code) and key_record.revoked_at == 0
    block_time = registry.w3.eth.get_block(added.block_number)["timestamp"]
    assert key_record.valid_from == block_time

    # a compromise discovered later: revoked "as of" a past time
    registry.revoke_key(key, block_time)
    assert registry.key_of(key).revoked_at == block_time
    assert not registry.key_of(key).valid_at(block_time)

    registry.set_agency_active(agency_id(code), False)
    assert registry.agency(agency_id(code)).active is False
    registry.remove_operator(operator.address)
    assert registry.agency_of(operator.address) == bytes(32)

    names = [e.name for e in registry.events(deployed["deployment"].block)]
    for expected in ("AgencyRegistered", "OperatorAdded", "TypePermissionChanged", "KeyAdded", "KeyRevoked",
                     "AgencyActiveChanged", "OperatorRemoved"):
        assert expected in names


def test_anchor_revoke_suspend_reinstate_and_events(deployed, funded_account):
    _, ledger = setup_agency(deployed, funded_account, "civil-affairs")
    batch = digests(10)
    tree = MerkleTree.build(batch)
    result = ledger.anchor(tree.root, len(batch))
    anchor = ledger.anchor_of(tree.root)
    assert anchor.agency_id == agency_id("civil-affairs")
    assert anchor.block_number == result.block_number
    assert anchor.timestamp == ledger.w3.eth.get_block(result.block_number)["timestamp"]

    ledger.suspend(batch[3], tree.root, tree.proof(3), Reason.ADMINISTRATIVE)
    status = ledger.status_of(batch[3])
    assert (status.state, status.reason) == (CredentialState.SUSPENDED, Reason.ADMINISTRATIVE)
    ledger.reinstate(batch[3], tree.root, tree.proof(3), Reason.UNSPECIFIED)
    assert ledger.status_of(batch[3]).state == CredentialState.ACTIVE

    ledger.revoke(batch[4], tree.root, tree.proof(4), Reason.SUPERSEDED)
    assert ledger.status_of(batch[4]).state == CredentialState.REVOKED
    with pytest.raises(ContractReverted) as err:
        ledger.reinstate(batch[4], tree.root, tree.proof(4), 0)
    assert err.value.error_name == "CredentialRevoked"
    assert err.value.error_args["digest"] == batch[4]

    ledger.revoke_many([(batch[i], tree.root, tree.proof(i)) for i in (5, 6)], Reason.ISSUED_IN_ERROR)
    ledger.suspend_many([(batch[7], tree.root, tree.proof(7))], Reason.HOLDER_REQUEST)
    ledger.reinstate_many([(batch[7], tree.root, tree.proof(7))], 0)
    assert [ledger.status_of(batch[i]).state for i in (5, 6, 7)] == [2, 2, 0]

    events = ledger.events(result.block_number)
    anchored = [e for e in events if e.name == "Anchored"]
    assert anchored[0].args == {"agencyId": agency_id("civil-affairs"), "root": tree.root, "count": 10,
                                "operator": ledger.sender.address}
    changes = [(e.args["digest"], e.args["state"]) for e in events if e.name == "StatusChanged"]
    assert changes[:3] == [(batch[3], 1), (batch[3], 0), (batch[4], 2)]

    ledger.revoke_root(tree.root, Reason.KEY_COMPROMISE)
    assert ledger.root_status_of(tree.root).state == CredentialState.REVOKED
    assert ledger.credential_status(batch[0], tree.root).state == CredentialState.REVOKED


def test_custom_errors_are_named(deployed, funded_account):
    _, ledger = setup_agency(deployed, funded_account, "agency-a")
    root = digests(1)[0]
    ledger.anchor(root, 1)
    with pytest.raises(ContractReverted) as err:
        ledger.anchor(root, 1)
    assert err.value.error_name == "AlreadyAnchored"
    assert "AlreadyAnchored" in str(err.value) and "0x" + root.hex() in str(err.value)

    stranger = LedgerClient(ledger.w3, ledger.address, make_sender(ledger.w3, funded_account()))
    with pytest.raises(ContractReverted) as err:
        stranger.anchor(digests(1, b"x")[0], 1)
    assert err.value.error_name == "NotOperator"

    not_governance = RegistryClient(ledger.w3, deployed["deployment"].registry, make_sender(ledger.w3, funded_account()))
    with pytest.raises(ContractReverted) as err:
        not_governance.register_agency("intruder")
    assert err.value.error_name == "AccessControlUnauthorizedAccount"


def test_agency_b_cannot_touch_agency_a_credentials(deployed, funded_account):
    _, ledger_a = setup_agency(deployed, funded_account, "agency-a")
    _, ledger_b = setup_agency(deployed, funded_account, "agency-b")
    batch = digests(4, b"a")
    tree = MerkleTree.build(batch)
    ledger_a.anchor(tree.root, 4)
    for action in (ledger_b.revoke, ledger_b.suspend):
        with pytest.raises(ContractReverted) as err:
            action(batch[0], tree.root, tree.proof(0), 0)
        assert err.value.error_name == "NotRootOwner"
    assert ledger_a.status_of(batch[0]).state == CredentialState.ACTIVE


def test_unreachable_node_and_wrong_chain_id(anvil):
    with pytest.raises(NodeUnreachable) as err:
        connect(["http://127.0.0.1:9"], timeout_s=1)
    assert "127.0.0.1:9" in str(err.value)
    with pytest.raises(WrongChainId) as err:
        connect(anvil.rpc_url, expected_chain_id=1)
    assert err.value.actual == anvil.chain_id
    # the first URL is down, the fallback answers
    assert connect(["http://127.0.0.1:9", anvil.rpc_url], anvil.chain_id).eth.chain_id == anvil.chain_id


def test_insufficient_funds_is_explained(deployed):
    from ledger.chain import InsufficientFunds

    poor = Account.create()
    deployed["registry"].register_agency("poor-agency")
    deployed["registry"].add_operator(agency_id("poor-agency"), poor.address)
    ledger = LedgerClient(deployed["registry"].w3, deployed["deployment"].ledger,
                          make_sender(deployed["registry"].w3, poor))
    with pytest.raises(InsufficientFunds) as err:
        ledger.anchor(digests(1, b"poor")[0], 1)
    assert poor.address in str(err.value)


def test_nonces_survive_concurrent_senders(deployed, funded_account):
    """One account, many transactions back to back: the local nonce counter keeps them in order."""
    _, ledger = setup_agency(deployed, funded_account, "busy-agency")
    pending = [ledger.submit_anchor(d, 1) for d in digests(20, b"busy")]
    results = [ledger.sender.wait(p) for p in pending]
    assert [p.nonce for p in pending] == list(range(pending[0].nonce, pending[0].nonce + 20))
    assert all(r.gas_used > 0 for r in results)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13])
def test_python_merkle_proofs_verify_on_the_deployed_ledger(deployed, funded_account, size):
    """Every proof built by ledger.merkle is accepted by OpenZeppelin's MerkleProof in CertLedger,
    and a proof of another leaf is refused."""
    _, ledger = setup_agency(deployed, funded_account, f"merkle-{size}")
    batch = digests(size, b"oz")
    tree = MerkleTree.build(batch)
    ledger.anchor(tree.root, size)
    if size > 1:
        with pytest.raises(ContractReverted) as err:
            ledger.suspend(batch[0], tree.root, tree.proof(1), 0)
        assert err.value.error_name == "InvalidProof"
    ledger.suspend_many([(d, tree.root, tree.proof(i)) for i, d in enumerate(batch)], Reason.ADMINISTRATIVE)
    assert all(ledger.status_of(d).state == CredentialState.SUSPENDED for d in batch)


def test_out_of_gas_is_named(deployed, funded_account):
    from ledger.chain import OutOfGas

    _, ledger = setup_agency(deployed, funded_account, "thrifty-agency")
    ledger.sender.gas_margin = 0.5  # a limit below what anchoring needs: mined, then out of gas
    with pytest.raises(OutOfGas) as err:
        ledger.anchor(digests(1, b"oog")[0], 1)
    assert "anchor ran out of gas" in str(err.value) and err.value.tx_hash.startswith("0x")
