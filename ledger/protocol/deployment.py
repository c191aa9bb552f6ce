"""A deployment: the registry and ledger contracts on one chain, which a bundle's anchor names
(docs/protocol.md §6)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    registry: str
    ledger: str
    block: int
    registry_tx: str
    ledger_tx: str

    @property
    def ledger_caip10(self) -> str:
        return f"eip155:{self.chain_id}:{self.ledger}"

    @property
    def registry_caip10(self) -> str:
        return f"eip155:{self.chain_id}:{self.registry}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deployment:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})
