"""A batch of signed credentials: digests, Merkle tree, and the bundles once the root is anchored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.protocol.bundle import Bundle, make_anchor
from ledger.protocol.deployment import Deployment
from ledger.protocol.digest import credential_digest
from ledger.protocol.merkle import MerkleTree


@dataclass(frozen=True)
class SealedBatch:
    credentials: list[dict[str, Any]]
    digests: list[bytes]
    tree: MerkleTree

    @classmethod
    def seal(cls, credentials: list[dict[str, Any]]) -> SealedBatch:
        """Digest each credential (issuance order kept) and build the tree; duplicates are refused."""
        digests = [credential_digest(c) for c in credentials]
        return cls(list(credentials), digests, MerkleTree.build(digests))

    @property
    def root(self) -> bytes:
        return self.tree.root

    def __len__(self) -> int:
        return len(self.credentials)

    def bundle(self, index: int, deployment: Deployment, tx_hash: str, block_number: int) -> Bundle:
        anchor = make_anchor(
            ledger=deployment.ledger_caip10,
            registry=deployment.registry_caip10,
            digest=self.digests[index],
            root=self.root,
            path=self.tree.proof(index),
            tx_hash=bytes.fromhex(tx_hash.removeprefix("0x")),
            block_number=block_number,
        )
        return Bundle(self.credentials[index], anchor)

    def bundles(self, deployment: Deployment, tx_hash: str, block_number: int) -> list[Bundle]:
        return [self.bundle(i, deployment, tx_hash, block_number) for i in range(len(self))]
