"""Trust roots: the deployments (registry + ledger on one chain, ``ledger.protocol.deployment``) a
verifier accepts."""

from __future__ import annotations

from ledger.protocol.bundle import Caip10
from ledger.protocol.deployment import Deployment


class TrustRoots:
    def __init__(self, deployments: list[Deployment]):
        self._by_pair = {(d.chain_id, d.ledger.lower(), d.registry.lower()): d for d in deployments}

    @classmethod
    def single(cls, chain_id: int, registry: str, ledger: str, name: str = "") -> TrustRoots:
        return cls([Deployment.trust_root(chain_id, registry, ledger, name)])

    def __iter__(self):
        return iter(self._by_pair.values())

    def find(self, ledger: Caip10, registry: Caip10) -> Deployment | None:
        """The trusted deployment the bundle names, or None: ledger and registry must be one pair."""
        if ledger.chain_id != registry.chain_id:
            return None
        return self._by_pair.get((ledger.chain_id, ledger.address_lower, registry.address_lower))
