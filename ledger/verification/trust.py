"""Trust roots: the deployments (registry + ledger on one chain) a verifier accepts."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.protocol.bundle import Caip10


@dataclass(frozen=True)
class TrustedDeployment:
    chain_id: int
    registry: str  # lower-case 0x address
    ledger: str
    name: str = ""

    @property
    def ledger_caip10(self) -> str:
        return f"eip155:{self.chain_id}:{self.ledger}"

    @property
    def registry_caip10(self) -> str:
        return f"eip155:{self.chain_id}:{self.registry}"


class TrustRoots:
    def __init__(self, deployments: list[TrustedDeployment]):
        self._by_pair = {(d.chain_id, d.ledger.lower(), d.registry.lower()): d for d in deployments}

    @classmethod
    def single(cls, chain_id: int, registry: str, ledger: str, name: str = "") -> TrustRoots:
        return cls([TrustedDeployment(chain_id, registry.lower(), ledger.lower(), name)])

    def __iter__(self):
        return iter(self._by_pair.values())

    def find(self, ledger: Caip10, registry: Caip10) -> TrustedDeployment | None:
        """The trusted deployment the bundle names, or None: ledger and registry must be one pair."""
        if ledger.chain_id != registry.chain_id:
            return None
        return self._by_pair.get((ledger.chain_id, ledger.address_lower, registry.address_lower))
