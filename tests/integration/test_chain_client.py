"""The chain client against a real anvil node: every function, typed reads, events, clear errors."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eth_account import Account
from web3 import Web3

from ledger.chain import (
    AgencyInfo,
    ContractReverted,
    CredentialState,
    KeyRecord,
    LedgerClient,
    NodeUnreachable,
    Reason,
    RegistryClient,
    StatusRecord,
    WrongChainId,
    connect,
    make_sender,
)
from ledger.protocol.ed25519_checks import weak_key_reason
from ledger.protocol.keys import WeakKeyError
from ledger.protocol.merkle import MerkleTree

pytestmark = pytest.mark.integration


def agency_id(code: str) -> bytes:
    return Web3.keccak(text=code)


def new_key() -> bytes:
    """A real Ed25519 public key, raw 32 bytes."""
    return Ed25519PrivateKey.generate().public_key().public_bytes_raw()


def setup_agency(deployed, funded_account, code: str):
    """Register an agency with one operator; return (operator account, ledger client as operator)."""
    registry: RegistryClient = deployed["registry"]
    operator = funded_account()
    registry.register_agency(code, f"{code} 机构")
    registry.add_operator(agency_id(code), operator.address)
    ledger = LedgerClient(registry.w3, deployed["deployment"].ledger, make_sender(registry.w3, operator))
    return operator, ledger


def digests(n: int, salt: bytes = b"") -> list[bytes]:
    return [Web3.keccak(salt + i.to_bytes(4, "big")) for i in range(n)]


def test_registry_functions_and_reads(deployed, funded_account):
    registry: RegistryClient = deployed["registry"]
    code, name = "zj-hz-education", "杭州市教育局 Hangzhou Education Bureau"
    aid = agency_id(code)
    assert not registry.agency_info(aid).registered
    registry.register_agency(code, name)
    info = registry.agency_info(aid)
    assert info == AgencyInfo(aid, code, name, True) and info.registered
    assert registry.agency_count() == 1
    assert registry.agency_id_at(1) == aid and registry.agency_id_at(2) == bytes(32)
    registry.set_agency_name(aid, "Hangzhou Municipal Education Bureau")
    assert registry.agency_info(aid).name == "Hangzhou Municipal Education Bureau"

    operator = funded_account()
    registry.add_operator(aid, operator.address)
    assert registry.agency_of(operator.address) == aid

    type_id = Web3.keccak(text="DegreeCertificate")
    assert not registry.is_permitted(aid, type_id)
    registry.set_type_permitted(aid, type_id, True)
    assert registry.is_permitted(aid, type_id)

    key = new_key()
    assert registry.key_of(aid, key) == KeyRecord(0, 0) and not registry.key_of(aid, key).registered
    added = registry.add_key(aid, key, 0)
    key_record = registry.key_of(aid, key)
    block_time = registry.w3.eth.get_block(added.block_number)["timestamp"]
    assert key_record == KeyRecord(block_time, 0) and key_record.registered and key_record.valid_at(block_time)

    # a compromise discovered later: revoked "as of" a past time
    registry.revoke_key(aid, key, block_time)
    assert registry.key_of(aid, key).revoked_at == block_time
    assert not registry.key_of(aid, key).valid_at(block_time)

    registry.set_agency_active(aid, False)
    assert registry.agency_info(aid).active is False
    registry.remove_operator(operator.address)
    assert registry.agency_of(operator.address) == bytes(32)

    newcomer = funded_account()
    assert not registry.is_governance(newcomer.address)
    registry.grant_governance(newcomer.address)
    assert registry.is_governance(newcomer.address)

    events = registry.events(deployed["deployment"].block)
    names = [e.name for e in events]
    for expected in (
        "AgencyRegistered",
        "AgencyNameChanged",
        "OperatorAdded",
        "TypePermissionChanged",
        "KeyAdded",
        "KeyRevoked",
        "AgencyActiveChanged",
        "OperatorRemoved",
    ):
        assert expected in names
    registered = next(e for e in events if e.name == "AgencyRegistered")
    assert registered.args == {"agencyId": aid, "index": 1, "code": code, "name": name}


def test_invalid_names_and_weak_keys_are_refused(deployed):
    registry: RegistryClient = deployed["registry"]
    for bad in ("", "n" * 201):
        with pytest.raises(ContractReverted) as err:
            registry.register_agency("some-agency", bad)
        assert err.value.error_name == "InvalidAgencyName"
    registry.register_agency("some-agency", "局" * 66 + "ab")  # 200 bytes of UTF-8
    aid = agency_id("some-agency")
    assert registry.agency_info(aid).name == "局" * 66 + "ab"

    # small order (the contract refuses these too) and off the curve (only this client can tell)
    small_order = bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")
    off_curve = next(k for k in (y.to_bytes(32, "little") for y in range(2, 100)) if weak_key_reason(k))
    assert "not a point" in weak_key_reason(off_curve)
    nonce = registry.w3.eth.get_transaction_count(registry.sender.address)
    for weak in (bytes(32), small_order, off_curve):
        with pytest.raises(WeakKeyError):
            registry.add_key(aid, weak)
    assert registry.w3.eth.get_transaction_count(registry.sender.address) == nonce  # nothing was sent

    # what the contract itself says, bypassing the client's check
    signed = small_order[:31] + bytes([small_order[31] | 0x80])
    with pytest.raises(ContractReverted) as err:
        registry._transact("addKey", aid, signed, 0)
    assert err.value.error_name == "WeakKey" and err.value.error_args == {"publicKey": signed}
    assert not registry.key_of(aid, signed).registered


def test_anchor_revoke_suspend_reinstate_and_events(deployed, funded_account):
    _, ledger = setup_agency(deployed, funded_account, "civil-affairs")
    aid = agency_id("civil-affairs")
    batch = digests(10)
    tree = MerkleTree.build(batch)
    assert not ledger.anchor_of(aid, tree.root).anchored
    result = ledger.anchor(tree.root, len(batch))
    anchor = ledger.anchor_of(aid, tree.root)
    assert anchor.anchored and anchor.count == 10
    assert anchor.block_number == result.block_number
    assert anchor.timestamp == ledger.w3.eth.get_block(result.block_number)["timestamp"]

    ledger.suspend(batch[3], tree.root, tree.proof(3), Reason.ADMINISTRATIVE)
    status = ledger.status_of(aid, batch[3])
    assert (status.state, status.reason) == (CredentialState.SUSPENDED, Reason.ADMINISTRATIVE)
    ledger.reinstate(batch[3], tree.root, tree.proof(3), Reason.UNSPECIFIED)
    assert ledger.status_of(aid, batch[3]).state == CredentialState.ACTIVE

    ledger.revoke(batch[4], tree.root, tree.proof(4), Reason.SUPERSEDED)
    assert ledger.status_of(aid, batch[4]).state == CredentialState.REVOKED
    with pytest.raises(ContractReverted) as err:
        ledger.reinstate(batch[4], tree.root, tree.proof(4), 0)
    assert err.value.error_name == "CredentialRevoked"
    assert err.value.error_args["digest"] == batch[4]

    ledger.revoke_many([(batch[i], tree.root, tree.proof(i)) for i in (5, 6)], Reason.ISSUED_IN_ERROR)
    ledger.suspend_many([(batch[7], tree.root, tree.proof(7))], Reason.HOLDER_REQUEST)
    ledger.reinstate_many([(batch[7], tree.root, tree.proof(7))], 0)
    assert [ledger.status_of(aid, batch[i]).state for i in (5, 6, 7)] == [2, 2, 0]

    events = ledger.events(result.block_number)
    anchored = [e for e in events if e.name == "Anchored"]
    assert anchored[0].args == {"agencyId": aid, "root": tree.root, "count": 10, "operator": ledger.sender.address}
    changes = [(e.args["agencyId"], e.args["digest"], e.args["state"]) for e in events if e.name == "StatusChanged"]
    assert changes[:3] == [(aid, batch[3], 1), (aid, batch[3], 0), (aid, batch[4], 2)]

    ledger.revoke_root(tree.root, Reason.KEY_COMPROMISE)
    assert ledger.root_status_of(aid, tree.root).state == CredentialState.REVOKED
    assert ledger.credential_status(aid, batch[0], tree.root).state == CredentialState.REVOKED
    assert ledger.status_of(aid, batch[0]).state == CredentialState.ACTIVE  # the digest's own record is untouched


def test_custom_errors_are_named(deployed, funded_account):
    _, ledger = setup_agency(deployed, funded_account, "agency-a")
    root = digests(1)[0]
    ledger.anchor(root, 1)
    with pytest.raises(ContractReverted) as err:
        ledger.anchor(root, 1)
    assert err.value.error_name == "AlreadyAnchored"
    assert err.value.error_args == {"agencyId": agency_id("agency-a"), "root": root}
    assert "AlreadyAnchored" in str(err.value) and "0x" + root.hex() in str(err.value)

    stranger = LedgerClient(ledger.w3, ledger.address, make_sender(ledger.w3, funded_account()))
    with pytest.raises(ContractReverted) as err:
        stranger.anchor(digests(1, b"x")[0], 1)
    assert err.value.error_name == "NotOperator"

    not_governance = RegistryClient(
        ledger.w3, deployed["deployment"].registry, make_sender(ledger.w3, funded_account())
    )
    with pytest.raises(ContractReverted) as err:
        not_governance.register_agency("intruder", "Intruder")
    assert err.value.error_name == "AccessControlUnauthorizedAccount"


def test_agency_b_cannot_touch_agency_a_records(deployed, funded_account):
    """The v1 attacks through the client: B's writes land in B's namespace, A reads exactly what A wrote."""
    registry: RegistryClient = deployed["registry"]
    _, ledger_a = setup_agency(deployed, funded_account, "agency-a")
    _, ledger_b = setup_agency(deployed, funded_account, "agency-b")
    a, b = agency_id("agency-a"), agency_id("agency-b")
    batch = digests(4, b"a")
    tree = MerkleTree.build(batch)

    # B copies A's root and anchors it first: A's anchor still succeeds, in A's namespace
    ledger_b.anchor(tree.root, 4)
    result = ledger_a.anchor(tree.root, 4)
    assert ledger_a.anchor_of(a, tree.root).block_number == result.block_number

    # B acts on its copy: a revocation, a suspension, the whole root
    ledger_b.revoke(batch[0], tree.root, tree.proof(0), Reason.KEY_COMPROMISE)
    ledger_b.suspend(batch[1], tree.root, tree.proof(1), Reason.ADMINISTRATIVE)
    ledger_b.revoke_root(tree.root, Reason.ISSUED_IN_ERROR)
    assert ledger_b.status_of(b, batch[0]).state == CredentialState.REVOKED
    for d in batch:
        assert ledger_a.status_of(a, d) == StatusRecord(0, 0, 0)
        assert ledger_a.credential_status(a, d, tree.root).state == CredentialState.ACTIVE
    assert ledger_a.root_status_of(a, tree.root) == StatusRecord(0, 0, 0)

    # a root only A anchored does not exist in B's namespace
    own = MerkleTree.build(digests(3, b"own"))
    ledger_a.anchor(own.root, 3)
    with pytest.raises(ContractReverted) as err:
        ledger_b.suspend(digests(3, b"own")[0], own.root, own.proof(0), 0)
    assert err.value.error_name == "RootNotAnchored" and err.value.error_args == {"agencyId": b, "root": own.root}

    # key squatting: B registers A's key bytes first; A's registration and record are its own
    key = new_key()
    registry_b = RegistryClient(registry.w3, registry.address, ledger_b.sender)
    registry_a = RegistryClient(registry.w3, registry.address, ledger_a.sender)
    registry_b.add_key(b, key)
    registry_a.add_key(a, key, 1_700_000_000)
    registry_b.revoke_key(b, key)
    assert registry.key_of(a, key) == KeyRecord(1_700_000_000, 0)
    assert registry.key_of(b, key).revoked_at != 0
    with pytest.raises(ContractReverted) as err:
        registry_b.revoke_key(a, key)
    assert err.value.error_name == "NotAgencyOperator"


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
    deployed["registry"].register_agency("poor-agency", "Poor Agency")
    deployed["registry"].add_operator(agency_id("poor-agency"), poor.address)
    ledger = LedgerClient(
        deployed["registry"].w3, deployed["deployment"].ledger, make_sender(deployed["registry"].w3, poor)
    )
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
    """Every proof built by ledger.protocol.merkle is accepted by OpenZeppelin's MerkleProof in CertLedger,
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
    assert all(ledger.status_of(agency_id(f"merkle-{size}"), d).state == CredentialState.SUSPENDED for d in batch)


def test_out_of_gas_is_named(deployed, funded_account):
    from ledger.chain import OutOfGas

    _, ledger = setup_agency(deployed, funded_account, "thrifty-agency")
    ledger.sender.gas_margin = 0.5  # a limit below what anchoring needs: mined, then out of gas
    with pytest.raises(OutOfGas) as err:
        ledger.anchor(digests(1, b"oog")[0], 1)
    assert "anchor ran out of gas" in str(err.value) and err.value.tx_hash.startswith("0x")
