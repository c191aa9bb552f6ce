"""Bundles of anchored credentials: the stored credential (opened) and its batch's anchor receipt."""
from __future__ import annotations

from ledger.bundle import Bundle, make_anchor
from ledger.digest import from_hex32


def anchored_bundle(ctx, credential: dict, digest: str, leaf_index: int, batch, tree) -> Bundle:
    """``batch``: a batch row (root, tx_hash, block_number); ``tree``: its Merkle tree."""
    d = ctx.chain.deployment
    anchor = make_anchor(
        ledger=d.ledger_caip10,
        registry=d.registry_caip10,
        digest=from_hex32(digest),
        root=from_hex32(batch.root),
        path=tree.proof(leaf_index),
        tx_hash=from_hex32(batch.tx_hash),
        block_number=batch.block_number,
    )
    return Bundle(credential, anchor)


__all__ = ["anchored_bundle"]
