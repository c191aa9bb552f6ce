"""The content store: a narrow, content-addressed interface with two implementations.

* :class:`ledger.content.local_store.LocalContentStore` — the embedded
  default, a directory;
* :class:`ledger.content.ipfs_store.IpfsContentStore` — a Kubo node or an IPFS
  Cluster proxy, through the Kubo RPC API.

Both name an object by the CID ``ipfs add --cid-version=1 --raw-leaves`` gives
it (:func:`ledger.content.cid.compute_cid`), so moving from one to the other
changes no CID. Both check what they return against its CID.

Errors (all :class:`ContentStoreError`):

* :class:`ContentStoreUnavailable` — the store cannot be reached now; retry later.
* :class:`ContentNotFound` — no object with this CID.
* :class:`ContentStoreFull` — no space left; nothing partial was kept.
* :class:`ContentCorrupt` — the bytes found do not hash to the CID.
* :class:`ContentTooLarge` — over the store's per-object limit.

A malformed CID is the caller's error: :class:`ledger.content.cid.CIDError`
(a ``ValueError``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

DEFAULT_MAX_OBJECT_BYTES = 64 * 1024 * 1024
"""Per-object limit of both stores unless configured: 64 MiB (a share is a few kilobytes)."""


class ContentStoreError(Exception):
    """A content store operation failed; ``cid`` names the object when there is one."""

    def __init__(self, message: str, cid: str | None = None) -> None:
        super().__init__(message)
        self.cid = cid
        self.stored: list[str] = []  # put_many: the CIDs of the batch stored before the failure


class ContentStoreUnavailable(ContentStoreError):
    """The store cannot be reached (daemon down, timeout): retry later."""


class ContentNotFound(ContentStoreError):
    """No object with this CID in the store."""


class ContentStoreFull(ContentStoreError):
    """No space left for the object (disk full or quota); nothing partial was kept."""


class ContentCorrupt(ContentStoreError):
    """The stored bytes do not hash to their CID."""


class ContentTooLarge(ContentStoreError):
    """The object exceeds the store's per-object size limit."""


@runtime_checkable
class ContentStore(Protocol):
    """What the issuer and the verifier need from a content-addressed store."""

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its CID. Idempotent: the same bytes give the same CID and
        storing them again changes nothing. The object is kept (pinned)."""
        ...

    def put_many(self, items: Sequence[bytes]) -> list[str]:
        """``put`` of each object, in order, returning their CIDs; a store may batch the work (one
        durability barrier, one request). On a failure the error's ``stored`` names the CIDs of
        the objects before the failing one, which are stored."""
        ...

    def get(self, cid: str) -> bytes:
        """The bytes of ``cid``, checked against it. Raises :class:`ContentNotFound`,
        :class:`ContentCorrupt`, :class:`ContentStoreUnavailable`."""
        ...

    def has(self, cid: str) -> bool:
        """Whether the store holds ``cid`` now (without fetching it from elsewhere)."""
        ...

    def pin(self, cid: str) -> None:
        """Keep ``cid`` from garbage collection. Raises :class:`ContentNotFound` when absent."""
        ...


def store_reachable(store: object) -> bool:
    """Whether a content store answers now (for monitoring): an IPFS node its ``version`` call, a
    local store its directory, readable and writable (or, not made yet, its parent's)."""
    version = getattr(store, "version", None)
    if callable(version):
        try:
            version()
            return True
        except ContentStoreError:
            return False
    root = getattr(store, "root", None)
    if root is None:
        return False
    path = Path(root)
    while not path.exists() and path.parent != path:  # created on the first write
        path = path.parent
    return path.is_dir() and os.access(path, os.R_OK | os.W_OK | os.X_OK)


__all__ = [
    "DEFAULT_MAX_OBJECT_BYTES",
    "ContentCorrupt",
    "ContentNotFound",
    "ContentStore",
    "ContentStoreError",
    "ContentStoreFull",
    "ContentStoreUnavailable",
    "ContentTooLarge",
    "store_reachable",
]
