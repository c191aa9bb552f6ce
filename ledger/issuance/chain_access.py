"""Chain access for the issuer: the deployment, a lazy connection, and each agency's keys.

An agency's operator account (sends anchors and status changes) and Ed25519 signing key (signs
credentials) are loaded from the data directory (``ledger.governance.agency_keys``) on first use and kept for the
process; decrypting a key file costs one scrypt, never one per request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from web3 import Web3

from ledger.chain import Deployment, LedgerClient, RevertDecoder, TransactionSender, connect
from ledger.chain.artifacts import ledger_artifact, registry_artifact
from ledger.governance.agency_keys import AgencyKeys, load_agency_keys
from ledger.issuance.errors import AgencyKeysMissing
from ledger.protocol.keys import SigningKey


class AgencyKeyring:
    """Agency code -> :class:`AgencyKeys`, loaded once each."""

    def __init__(self, loader: Callable[[str], AgencyKeys]) -> None:
        self._loader = loader
        self._keys: dict[str, AgencyKeys] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_data_dir(cls, data_dir: Path, passphrase: str) -> AgencyKeyring:
        return cls(lambda code: load_agency_keys(Path(data_dir), code, passphrase))

    @classmethod
    def of(cls, keys: Mapping[str, AgencyKeys]) -> AgencyKeyring:
        known = dict(keys)

        def load(code: str) -> AgencyKeys:
            if code not in known:
                raise KeyError(f"no keys given for {code}")
            return known[code]

        return cls(load)

    def get(self, code: str) -> AgencyKeys:
        with self._lock:
            if code not in self._keys:
                try:
                    self._keys[code] = self._loader(code)
                except Exception as exc:  # missing file, wrong passphrase: say which agency
                    raise AgencyKeysMissing(code, str(exc)) from None
            return self._keys[code]

    def use_signing_key(self, code: str, signing_key: SigningKey) -> None:
        """Sign ``code``'s credentials with ``signing_key`` from now on (after a rotation); the operator
        account stays the loaded one, since a new operator must be funded before it sends."""
        with self._lock:
            if code in self._keys:
                self._keys[code] = AgencyKeys(self._keys[code].operator, signing_key)


class ChainAccess:
    """Where and as whom the issuer writes to the chain."""

    def __init__(
        self,
        rpc_urls: list[str] | str | None,
        deployment: Deployment,
        keyring: AgencyKeyring,
        *,
        confirmations: int = 1,
        receipt_timeout_s: float = 120.0,
        w3: Web3 | None = None,
    ) -> None:
        self.rpc_urls = [rpc_urls] if isinstance(rpc_urls, str) else list(rpc_urls or [])
        self.deployment = deployment
        self.keyring = keyring
        self.confirmations = max(1, confirmations)
        self.receipt_timeout_s = receipt_timeout_s
        self._w3 = w3
        self._senders: dict[str, TransactionSender] = {}
        self._ledgers: dict[str, LedgerClient] = {}
        self._reader: LedgerClient | None = None
        self._lock = threading.RLock()

    @property
    def w3(self) -> Web3:
        with self._lock:
            if self._w3 is None:
                self._w3 = connect(self.rpc_urls, self.deployment.chain_id)
            return self._w3

    # keys
    def signing_key(self, agency: str) -> SigningKey:
        return self.keyring.get(agency).signing_key

    def operator_address(self, agency: str) -> str:
        return self.keyring.get(agency).operator.address

    # contracts
    def sender(self, agency: str) -> TransactionSender:
        w3 = self.w3
        with self._lock:
            if agency not in self._senders:
                self._senders[agency] = TransactionSender(
                    w3,
                    self.keyring.get(agency).operator,
                    RevertDecoder(registry_artifact().abi, ledger_artifact().abi),
                    self.confirmations,
                    receipt_timeout_s=self.receipt_timeout_s,
                )
            return self._senders[agency]

    def reset_sender(self, agency: str) -> None:
        """Forget the cached nonce (after a dropped transaction the next one must reuse its nonce)."""
        with self._lock:
            self._senders.pop(agency, None)
            self._ledgers.pop(agency, None)

    def ledger(self, agency: str) -> LedgerClient:
        """The ledger contract, sending as the agency's operator."""
        sender = self.sender(agency)
        w3 = self.w3
        with self._lock:
            client = self._ledgers.get(agency)
            if client is None or client.sender is not sender:
                client = self._ledgers[agency] = LedgerClient(w3, self.deployment.ledger, sender)
            return client

    def reader(self) -> LedgerClient:
        """The ledger contract, read-only."""
        w3 = self.w3
        with self._lock:
            if self._reader is None:
                self._reader = LedgerClient(w3, self.deployment.ledger)
            return self._reader


__all__ = ["AgencyKeyring", "ChainAccess"]
