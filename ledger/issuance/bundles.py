"""Stored credentials opened, and bundles of anchored ones: the credential and its batch's anchor receipt."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import Select

from ledger.protocol.bundle import Bundle, make_anchor
from ledger.protocol.digest import from_hex32
from ledger.storage.models import CredentialBodyRecord, CredentialRecord
from ledger.storage.tables import table_of

CRED = table_of(CredentialRecord)
BODY = table_of(CredentialBodyRecord)


class StoredCredentialCorrupted(RuntimeError):
    """A stored credential whose content no longer hashes to its recorded digest."""


def with_body(query: Select[Any]) -> Select[Any]:
    """``query`` (a select from ``credential``) with the credential's ``sealed_credential``."""
    return query.add_columns(BODY.c.sealed_credential).join(BODY, BODY.c.credential_id == CRED.c.id)


def open_credential(ctx, row) -> dict:
    """The signed credential of a ``credential`` row with its body (id, digest, sealed_credential:
    ``with_body``), checked against its digest: it is stored in its RFC 8785 form, whose SHA-256 is
    the digest."""
    plain = ctx.sealer.open(row.sealed_credential, row.id.encode("utf-8"))
    if "0x" + hashlib.sha256(plain).hexdigest() != row.digest:
        raise StoredCredentialCorrupted(f"credential {row.id}: stored content does not match its digest")
    return json.loads(plain)


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


__all__ = ["StoredCredentialCorrupted", "anchored_bundle", "open_credential", "with_body"]
