"""The embedded content store: a directory of objects named by their IPFS CID.

Layout: ``<root>/<shard>/<cid>``, one file per object holding its bytes, where
``<shard>`` is the next-to-last two characters of the CID (the shard function
Kubo's flatfs uses: the leading characters of a CID are the same for every
object, the last one carries few bits). The root is typically
``<data>/content``.

* **Names** are the CIDs ``ipfs add --cid-version=1 --raw-leaves`` gives
  (:func:`ledger.content.cid.compute_cid`), so the directory can be imported
  into an IPFS node and every link keeps working.
* **Writes are atomic**: the bytes go to a temporary file in the shard
  directory (``.tmp-…``), which is flushed, fsync'ed and renamed over the final
  name; the directory is fsync'ed. A reader sees the whole object or nothing.
* **Disk full** (``ENOSPC``, ``EDQUOT``) raises :class:`ContentStoreFull` after
  removing the temporary file: no partial object is left. An optional quota
  (``max_bytes``, the total size of stored objects) raises it before writing.
  The quota counts what this process sees: it is a guard, not an exact
  accounting across processes sharing the directory.
* **Reads are checked**: the bytes are hashed again; a mismatch raises
  :class:`ContentCorrupt`.
* ``pin`` only checks presence: nothing here is ever garbage-collected.

``writer`` (for tests) replaces the call that writes the bytes into the open
temporary file: ``writer(file, data)``; it lets a test fail a write half way
with ``OSError(ENOSPC)``.
"""

from __future__ import annotations

import errno
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ledger.content.cid import compute_cid, parse_cid
from ledger.content.store import (
    DEFAULT_MAX_OBJECT_BYTES,
    ContentCorrupt,
    ContentNotFound,
    ContentStoreError,
    ContentStoreFull,
    ContentTooLarge,
)

Writer = Callable[[BinaryIO, bytes], None]

_TEMP_PREFIX = ".tmp-"
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


def _default_writer(file: BinaryIO, data: bytes) -> None:
    file.write(data)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalContentStore:
    """A :class:`ledger.content.store.ContentStore` in a local directory."""

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        max_bytes: int | None = None,
        max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES,
        writer: Writer | None = None,
    ) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.max_object_bytes = max_object_bytes
        self._writer = writer or _default_writer
        self._lock = threading.Lock()
        self._used: int | None = None      # bytes stored, counted on first need

    def __repr__(self) -> str:
        return f"LocalContentStore({str(self.root)!r})"

    # -- naming ---------------------------------------------------------------------------

    def path_of(self, cid: str) -> Path:
        """Where the object ``cid`` lives (whether or not it exists)."""
        parse_cid(cid)
        return self.root / cid[-3:-1] / cid

    # -- the protocol ---------------------------------------------------------------------

    def put(self, data: bytes) -> str:
        data = bytes(data)
        if len(data) > self.max_object_bytes:
            raise ContentTooLarge(
                f"the object is {len(data):,} bytes; this store keeps at most {self.max_object_bytes:,}")
        cid = compute_cid(data)
        path = self.path_of(cid)
        with self._lock:
            try:
                if path.stat().st_size == len(data):
                    return cid                      # idempotent: already stored
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise ContentStoreError(f"cannot read the content store at {self.root}: {exc.strerror}",
                                        cid) from None
            if self.max_bytes is not None and self.used_bytes() + len(data) > self.max_bytes:
                raise ContentStoreFull(
                    f"the content store at {self.root} is full: storing {len(data):,} more bytes would "
                    f"exceed its quota of {self.max_bytes:,} bytes", cid)
            self._write(path, data, cid)
            if self._used is not None:
                self._used += len(data)
        return cid

    def get(self, cid: str) -> bytes:
        path = self.path_of(cid)
        try:
            with open(path, "rb") as f:
                data = f.read(self.max_object_bytes + 1)
        except FileNotFoundError:
            raise ContentNotFound(f"no object {cid} in the content store", cid) from None
        except OSError as exc:
            raise ContentStoreError(f"cannot read {cid} from the content store: {exc.strerror}", cid) from None
        if len(data) > self.max_object_bytes:
            raise ContentTooLarge(f"object {cid} exceeds {self.max_object_bytes:,} bytes", cid)
        if compute_cid(data) != cid:
            raise ContentCorrupt(f"object {cid} in {self.root} is corrupt: its bytes hash to another CID", cid)
        return data

    def has(self, cid: str) -> bool:
        return self.path_of(cid).is_file()

    def pin(self, cid: str) -> None:
        if not self.has(cid):
            raise ContentNotFound(f"cannot pin {cid}: not in the content store", cid)

    # -- internals ------------------------------------------------------------------------

    def used_bytes(self) -> int:
        """Total size of the stored objects (temporary files excluded)."""
        if self._used is None:
            total = 0
            if self.root.is_dir():
                for shard in self.root.iterdir():
                    if shard.is_dir():
                        total += sum(p.stat().st_size for p in shard.iterdir()
                                     if not p.name.startswith(_TEMP_PREFIX))
            self._used = total
        return self._used

    def _write(self, path: Path, data: bytes, cid: str) -> None:
        tmp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=path.parent)
            with os.fdopen(fd, "wb") as f:
                self._writer(f, data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            tmp = None
            _fsync_dir(path.parent)
        except OSError as exc:
            if exc.errno in _FULL_ERRNOS:
                raise ContentStoreFull(
                    f"the disk holding the content store ({self.root}) is full: could not store "
                    f"{len(data):,} bytes; nothing was kept", cid) from None
            raise ContentStoreError(f"could not store {cid} in {self.root}: {exc.strerror or exc}", cid) from None
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass


__all__ = ["LocalContentStore", "Writer"]
