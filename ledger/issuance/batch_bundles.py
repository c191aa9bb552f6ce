"""A batch's bundles as JSON bytes, for delivery to the content hook (a hundred thousand at a time).

The same bundle ``anchored_bundle(...).to_bytes(indent=None)`` describes, written without building
it object by object: the stored credential is already its RFC 8785 JSON (checked against its
digest), so it is spliced in as it is, and the anchor is one validated template per batch (ledger,
registry, root, transaction, block: ``make_anchor`` checks them once) with each credential's digest
and Merkle path filled in. Parsing gives the same bundle; the bytes are compact (no indentation).
Opening, parsing and re-serialising every credential cost more than the rest of delivery together.
"""
from __future__ import annotations

import hashlib
import json

from ledger.bundle import BUNDLE_TYPE, BUNDLE_VERSION, make_anchor
from ledger.digest import from_hex32, to_hex32

from .bundles import StoredCredentialCorrupted


def _compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class BatchBundles:
    """``bundle_bytes(row)`` for the credential rows (id, digest, leaf_index, sealed_credential) of
    one confirmed batch (a row with root, tx_hash, block_number) whose Merkle tree is ``tree``."""

    def __init__(self, ctx, batch, tree) -> None:
        d = ctx.chain.deployment
        template = make_anchor(ledger=d.ledger_caip10, registry=d.registry_caip10, digest=tree.digests[0],
                               root=from_hex32(batch.root), path=tree.proof(0), tx_hash=from_hex32(batch.tx_hash),
                               block_number=batch.block_number).to_json()
        self._open = ctx.sealer.open
        self._head = (_compact({"type": BUNDLE_TYPE, "version": BUNDLE_VERSION})[:-1] + ',"credential":').encode()
        self._anchor_head = (f',"anchor":{{"ledger":{_compact(template["ledger"])},'
                             f'"registry":{_compact(template["registry"])},"digest":"').encode()
        self._root = f'","root":{_compact(template["root"])},"path":['.encode()
        self._tail = (f'],"txHash":{_compact(template["txHash"])},'
                      f'"blockNumber":{_compact(template["blockNumber"])}}}}}').encode()
        # Every node below the root, as quoted hex, level by level: a proof picks one per level
        # (what MerkleTree.proof does, without converting the shared upper nodes again and again).
        self._levels = [[f'"{to_hex32(node)}"' for node in level] for level in tree.levels[:-1]]

    def bundle_bytes(self, row) -> bytes:
        plain = self._open(row.sealed_credential, row.id.encode("utf-8"))
        digest = "0x" + hashlib.sha256(plain).hexdigest()
        if digest != row.digest:
            raise StoredCredentialCorrupted(f"credential {row.id}: stored content does not match its digest")
        path = []
        i = row.leaf_index
        for level in self._levels:
            sibling = i ^ 1
            if sibling < len(level):      # the last node of an odd level is carried up: no sibling
                path.append(level[sibling])
            i >>= 1
        return b"".join((self._head, plain, self._anchor_head, digest.encode("ascii"), self._root,
                         ",".join(path).encode("ascii"), self._tail))


__all__ = ["BatchBundles"]
