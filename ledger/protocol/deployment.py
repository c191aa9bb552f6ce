"""A deployment: the registry and ledger contracts on one chain, which a bundle's anchor names
(docs/protocol.md §6). One type for every use: what ``deploy`` records (block and transactions),
a verifier's trust root (a name, and the block to index from), a deployment a bundle is checked
against (``ledger.verification.trust.TrustRoots``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    registry: str  # 0x address; lower-case in a trust root
    ledger: str
    block: int = 0  # the deployment block: where an index of its events starts
    registry_tx: str = ""
    ledger_tx: str = ""
    name: str = ""  # a trust root's label, for people

    @classmethod
    def trust_root(cls, chain_id: int, registry: str, ledger: str, name: str = "", block: int = 0) -> Deployment:
        """A trust root: the addresses in lower case."""
        return cls(chain_id, registry.lower(), ledger.lower(), block, name=name)

    @property
    def ledger_caip10(self) -> str:
        return f"eip155:{self.chain_id}:{self.ledger}"

    @property
    def registry_caip10(self) -> str:
        return f"eip155:{self.chain_id}:{self.registry}"

    def to_dict(self) -> dict[str, Any]:
        """The record ``deploy`` writes (config.json's ``deployment``); ``name`` only when there is one."""
        data: dict[str, Any] = {
            "chain_id": self.chain_id,
            "registry": self.registry,
            "ledger": self.ledger,
            "block": self.block,
            "registry_tx": self.registry_tx,
            "ledger_tx": self.ledger_tx,
        }
        if self.name:
            data["name"] = self.name
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deployment:
        return cls(
            data["chain_id"],
            data["registry"],
            data["ledger"],
            data["block"],
            data["registry_tx"],
            data["ledger_tx"],
            data.get("name", ""),
        )
