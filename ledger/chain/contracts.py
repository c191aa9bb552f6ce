"""Typed clients of the two contracts: every function, the views, and the events.

Protocol v2: every chain record lives in the namespace of one agency, so every read names the agency
(``anchor_of(agency_id, root)``, ``status_of(agency_id, digest)``, ``key_of(agency_id, key)``...). Writes
name none: the ledger acts on the sending operator's own agency, and key management on the agency given.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import requests
from web3 import Web3
from web3.exceptions import ContractLogicError
from web3.types import BlockIdentifier

from ledger.chain.artifacts import ContractArtifact, ledger_artifact, registry_artifact
from ledger.chain.errors import ChainError, ContractReverted, NodeUnreachable
from ledger.chain.records import AgencyInfo, AnchorRecord, ChainEvent, KeyRecord, StatusRecord
from ledger.chain.revert_decoding import RevertDecoder
from ledger.chain.transactions import PendingTx, TransactionSender, TxResult
from ledger.protocol.ed25519_checks import weak_key_reason
from ledger.protocol.keys import WeakKeyError

Bytes32 = bytes


def _b32(value: bytes | str, field: str) -> bytes:
    raw = bytes.fromhex(value[2:] if value.startswith("0x") else value) if isinstance(value, str) else bytes(value)
    if len(raw) != 32:
        raise ValueError(f"{field}: expected 32 bytes, got {len(raw)}")
    return raw


class _ContractClient:
    def __init__(self, w3: Web3, address: str, artifact: ContractArtifact, sender: TransactionSender | None):
        self.w3 = w3
        self.address = Web3.to_checksum_address(address)
        self.contract = w3.eth.contract(address=self.address, abi=artifact.abi)
        self.sender = sender
        self.decoder = sender.decoder if sender else RevertDecoder(artifact.abi)
        self._topics: dict[bytes, str] = {  # event topic (HexBytes, a bytes) -> event name
            Web3.keccak(text=self._event_signature(item)): item["name"]
            for item in artifact.abi
            if item["type"] == "event"
        }

    @staticmethod
    def _event_signature(item: dict) -> str:
        return f"{item['name']}({','.join(p['type'] for p in item['inputs'])})"

    def _call(self, name: str, *args):
        try:
            return getattr(self.contract.functions, name)(*args).call()
        except ContractLogicError as exc:
            error, values = self.decoder.decode(exc.data)
            raise ContractReverted(name, error, values) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise NodeUnreachable([str(getattr(self.w3.provider, "endpoint_uri", "?"))], exc) from exc

    def _transact(self, name: str, *args) -> TxResult:
        return self._sender().send(getattr(self.contract.functions, name)(*args), name)

    def _submit(self, name: str, *args) -> PendingTx:
        return self._sender().submit(getattr(self.contract.functions, name)(*args), name)

    def _sender(self) -> TransactionSender:
        if self.sender is None:
            raise ChainError("this client is read-only: no account was given to send transactions")
        return self.sender

    def events(
        self, from_block: int = 0, to_block: BlockIdentifier = "latest", names: Iterable[str] | None = None
    ) -> list[ChainEvent]:
        """All events of this contract in the block range, decoded, in chain order."""
        wanted = set(names) if names else None
        try:
            logs = self.w3.eth.get_logs({"address": self.address, "fromBlock": from_block, "toBlock": to_block})
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise NodeUnreachable([str(getattr(self.w3.provider, "endpoint_uri", "?"))], exc) from exc
        out = []
        for log in logs:
            name = self._topics.get(bytes(log["topics"][0])) if log["topics"] else None
            if name is None or (wanted and name not in wanted):
                continue
            decoded = getattr(self.contract.events, name)().process_log(log)
            out.append(
                ChainEvent(
                    name=name,
                    args=dict(decoded["args"]),
                    contract=self.address,
                    block_number=log["blockNumber"],
                    block_hash="0x" + bytes(log["blockHash"]).hex(),
                    tx_hash="0x" + bytes(log["transactionHash"]).hex(),
                    log_index=log["logIndex"],
                )
            )
        return out


class RegistryClient(_ContractClient):
    def __init__(self, w3: Web3, address: str, sender: TransactionSender | None = None):
        super().__init__(w3, address, registry_artifact(), sender)

    # governance
    def register_agency(self, code: str, name: str) -> TxResult:
        """agencyId = keccak256(code); `name` is the display name (1..200 bytes of UTF-8)."""
        return self._transact("registerAgency", code, name)

    def set_agency_name(self, agency_id: Bytes32, name: str) -> TxResult:
        return self._transact("setAgencyName", _b32(agency_id, "agencyId"), name)

    def set_agency_active(self, agency_id: Bytes32, active: bool) -> TxResult:
        return self._transact("setAgencyActive", _b32(agency_id, "agencyId"), active)

    def add_operator(self, agency_id: Bytes32, operator: str) -> TxResult:
        return self._transact("addOperator", _b32(agency_id, "agencyId"), Web3.to_checksum_address(operator))

    def remove_operator(self, operator: str) -> TxResult:
        return self._transact("removeOperator", Web3.to_checksum_address(operator))

    def set_type_permitted(self, agency_id: Bytes32, type_id: Bytes32, permitted: bool) -> TxResult:
        return self._transact("setTypePermitted", _b32(agency_id, "agencyId"), _b32(type_id, "typeId"), permitted)

    def grant_governance(self, account: str) -> TxResult:
        role = self._call("DEFAULT_ADMIN_ROLE")
        return self._transact("grantRole", role, Web3.to_checksum_address(account))

    # governance or the agency's operators
    def add_key(self, agency_id: Bytes32, public_key: Bytes32, valid_from: int = 0) -> TxResult:
        """Registers the raw Ed25519 key for `agency_id` only (valid_from 0: the block time).

        Refuses a weak key before sending (:class:`ledger.protocol.keys.WeakKeyError`): the contract refuses
        zero, non-canonical and small-order encodings itself (WeakKey), but cannot afford to check that
        the bytes are a point of the curve at all, so that check is made here.
        """
        key = _b32(public_key, "publicKey")
        weak = weak_key_reason(key)
        if weak is not None:
            raise WeakKeyError(f"not an acceptable Ed25519 public key 0x{key.hex()}: {weak}")
        return self._transact("addKey", _b32(agency_id, "agencyId"), key, valid_from)

    def revoke_key(self, agency_id: Bytes32, public_key: Bytes32, revoked_at: int = 0) -> TxResult:
        """revoked_at 0: now; a past time (>= valid_from) records a compromise; a revoked key only moves earlier."""
        return self._transact("revokeKey", _b32(agency_id, "agencyId"), _b32(public_key, "publicKey"), revoked_at)

    # reads
    def key_of(self, agency_id: Bytes32, public_key: Bytes32) -> KeyRecord:
        valid_from, revoked_at = self._call("keyOf", _b32(agency_id, "agencyId"), _b32(public_key, "publicKey"))
        return KeyRecord(valid_from, revoked_at)

    def agency_info(self, agency_id: Bytes32) -> AgencyInfo:
        aid = _b32(agency_id, "agencyId")
        code, name, active = self._call("agencyInfo", aid)
        return AgencyInfo(aid, code, name, active)

    def is_permitted(self, agency_id: Bytes32, type_id: Bytes32) -> bool:
        return self._call("isPermitted", _b32(agency_id, "agencyId"), _b32(type_id, "typeId"))

    def agency_of(self, operator: str) -> bytes:
        return bytes(self._call("agencyOf", Web3.to_checksum_address(operator)))

    def agency_count(self) -> int:
        return self._call("agencyCount")

    def agency_id_at(self, index: int) -> bytes:
        """The agency registered `index`-th (from 1); zero bytes for 0 or past agency_count()."""
        return bytes(self._call("agencyIdAt", index))

    def is_governance(self, account: str) -> bool:
        return self._call("hasRole", self._call("DEFAULT_ADMIN_ROLE"), Web3.to_checksum_address(account))


class LedgerClient(_ContractClient):
    def __init__(self, w3: Web3, address: str, sender: TransactionSender | None = None):
        super().__init__(w3, address, ledger_artifact(), sender)

    # writes (an operator; always in its own agency's namespace)
    def anchor(self, root: Bytes32, count: int) -> TxResult:
        return self._transact("anchor", _b32(root, "root"), count)

    def submit_anchor(self, root: Bytes32, count: int) -> PendingTx:
        """Broadcast only; the caller records the hash and waits with `sender.wait`."""
        return self._submit("anchor", _b32(root, "root"), count)

    def revoke(self, digest: Bytes32, root: Bytes32, proof: Sequence[bytes], reason: int) -> TxResult:
        return self._transact("revoke", *self._one(digest, root, proof), reason)

    def suspend(self, digest: Bytes32, root: Bytes32, proof: Sequence[bytes], reason: int) -> TxResult:
        return self._transact("suspend", *self._one(digest, root, proof), reason)

    def reinstate(self, digest: Bytes32, root: Bytes32, proof: Sequence[bytes], reason: int) -> TxResult:
        return self._transact("reinstate", *self._one(digest, root, proof), reason)

    def revoke_many(self, items: Sequence[tuple[bytes, bytes, Sequence[bytes]]], reason: int) -> TxResult:
        return self._transact("revokeMany", *self._many(items), reason)

    def suspend_many(self, items: Sequence[tuple[bytes, bytes, Sequence[bytes]]], reason: int) -> TxResult:
        return self._transact("suspendMany", *self._many(items), reason)

    def reinstate_many(self, items: Sequence[tuple[bytes, bytes, Sequence[bytes]]], reason: int) -> TxResult:
        return self._transact("reinstateMany", *self._many(items), reason)

    def revoke_root(self, root: Bytes32, reason: int) -> TxResult:
        return self._transact("revokeRoot", _b32(root, "root"), reason)

    # reads
    def registry_address(self) -> str:
        return self._call("registry")

    def anchor_of(self, agency_id: Bytes32, root: Bytes32) -> AnchorRecord:
        return AnchorRecord(*self._call("anchorOf", _b32(agency_id, "agencyId"), _b32(root, "root")))

    def status_of(self, agency_id: Bytes32, digest: Bytes32) -> StatusRecord:
        return StatusRecord(*self._call("statusOf", _b32(agency_id, "agencyId"), _b32(digest, "digest")))

    def root_status_of(self, agency_id: Bytes32, root: Bytes32) -> StatusRecord:
        return StatusRecord(*self._call("rootStatusOf", _b32(agency_id, "agencyId"), _b32(root, "root")))

    def credential_status(self, agency_id: Bytes32, digest: Bytes32, root: Bytes32) -> StatusRecord:
        """The credential's status in `agency_id`'s namespace; that agency's revocation of `root` wins."""
        return StatusRecord(
            *self._call("credentialStatus", _b32(agency_id, "agencyId"), _b32(digest, "digest"), _b32(root, "root"))
        )

    @staticmethod
    def _one(digest, root, proof):
        return _b32(digest, "digest"), _b32(root, "root"), [_b32(p, "proof") for p in proof]

    @staticmethod
    def _many(items):
        digests, roots, proofs = [], [], []
        for digest, root, proof in items:
            d, r, p = LedgerClient._one(digest, root, proof)
            digests.append(d)
            roots.append(r)
            proofs.append(p)
        return digests, roots, proofs
