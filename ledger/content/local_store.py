"""The embedded content store: a directory of immutable pack files holding objects named by their
IPFS CID.

Why packs and not one file per object: bulk issuance stores one encrypted share per credential,
and creating a file cost 0.1–2 ms on this machine's ext4 disk (the kernel's work, not the write),
so 100,000 files took longer than the whole rest of issuance. One pack per ``put_many`` turns that
into one file, one ``fsync`` and one rename per thousand objects.

Layout: ``<root>/packs/<time>-<random>.pack``, written once and never changed::

    b"CLPACK1\\n" | object bytes … | entries | u32 count | sha256(entries + count) | b"CLPKEND\\n"

where each entry is the object's binary CID (36 bytes: CIDv1, raw or dag-pb, sha2-256), its u64
offset and u32 length (big-endian). Objects stored before packs existed
(``<root>/<shard>/<cid>``, one file each) are still read.

* **Names** are the CIDs ``ipfs add --cid-version=1 --raw-leaves`` gives
  (:func:`ledger.content.cid.compute_cid`), so every object can be added to an IPFS node and
  keeps its CID (and every link keeps working).
* **Writes are atomic and durable before they count**: a pack is written as a temporary file
  (``.tmp-…``), fsync'ed, renamed to its name, and the directory fsync'ed; only then does
  ``put``/``put_many`` return the CIDs (which a caller then records as stored). A crash leaves
  either the whole pack or none of it under a ``.pack`` name.
* **Reads are checked**: the bytes are hashed again; a mismatch (a damaged disk, a torn write
  behind our back) raises :class:`ContentCorrupt`. ``put`` of an object already present checks it
  too, and writes a fresh copy over a damaged one (the newest pack wins).
* **Several processes** may share the directory (the issuer writes, the verifier reads): each
  writes its own packs, and a reader looks for new packs when it misses an object.
* **Disk full** (``ENOSPC``, ``EDQUOT``) raises :class:`ContentStoreFull` after removing the
  temporary file: no partial object is left. An optional quota (``max_bytes``, the total size of
  stored objects) stores the objects of a batch that fit and refuses the rest before writing
  them. The quota counts what this process sees: a guard, not an exact accounting across
  processes sharing the directory.
* ``pin`` only checks presence: nothing here is ever garbage-collected.

``writer`` (for tests) replaces the call that writes one object's bytes into the open temporary
pack: ``writer(file, data)``; it lets a test fail a write half way with ``OSError(ENOSPC)``.
"""

from __future__ import annotations

import errno
import hashlib
import os
import struct
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO, NamedTuple

from ledger.content.cid import cid_bytes, cid_text, compute_cid, compute_cid_bytes
from ledger.content.store import (
    DEFAULT_MAX_OBJECT_BYTES,
    ContentCorrupt,
    ContentNotFound,
    ContentStoreError,
    ContentStoreFull,
    ContentTooLarge,
)

Writer = Callable[[BinaryIO, bytes], None]

PACK_DIR = "packs"
_MAGIC, _END = b"CLPACK1\n", b"CLPKEND\n"
_ENTRY = struct.Struct(">36sQI")
_COUNT = struct.Struct(">I")
_TRAILER = _COUNT.size + 32 + len(_END)
_TEMP_PREFIX = ".tmp-"
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


def _default_writer(file: BinaryIO, data: bytes) -> None:
    file.write(data)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Location(NamedTuple):
    """Where an object's bytes are: a pack (or a legacy one-object file), offset, length."""

    path: Path
    offset: int
    length: int


class _Failure(NamedTuple):
    index: int  # type: ignore[assignment]  # the objects before this one are stored (shadows tuple.index)
    error: ContentStoreError


class PackFormatError(ValueError):
    """A ``.pack`` file that is not a complete pack (its trailer or entry table is damaged)."""


def read_pack_index(path: Path) -> list[tuple[bytes, int, int]]:
    """The entries ``(binary CID, offset, length)`` of a pack, checked against the trailer's hash."""
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        if size < len(_MAGIC) + _TRAILER:
            raise PackFormatError(f"{path.name}: too short for a pack")
        f.seek(size - _TRAILER)
        trailer = f.read(_TRAILER)
        (count,) = _COUNT.unpack_from(trailer)
        table_at = size - _TRAILER - count * _ENTRY.size
        if trailer[-len(_END) :] != _END or table_at < len(_MAGIC):
            raise PackFormatError(f"{path.name}: no pack trailer")
        f.seek(table_at)
        table = f.read(count * _ENTRY.size)
        f.seek(0)
        magic = f.read(len(_MAGIC))
    if magic != _MAGIC or hashlib.sha256(table + trailer[: _COUNT.size]).digest() != trailer[_COUNT.size : -len(_END)]:
        raise PackFormatError(f"{path.name}: damaged pack header or entry table")
    entries = list(_ENTRY.iter_unpack(table))
    if any(offset + length > table_at or offset < len(_MAGIC) for _, offset, length in entries):
        raise PackFormatError(f"{path.name}: an entry points outside the pack")
    return entries


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
        self.packs = self.root / PACK_DIR
        self.max_bytes = max_bytes
        self.max_object_bytes = max_object_bytes
        self._writer = writer or _default_writer
        self._lock = threading.RLock()
        self._index: dict[bytes, Location] = {}  # binary CID -> where
        self._loaded: set[str] = set()  # pack names read into the index
        self._used = 0  # bytes of the objects in the index

    def __repr__(self) -> str:
        return f"LocalContentStore({str(self.root)!r})"

    # -- the protocol ---------------------------------------------------------------------

    def put(self, data: bytes) -> str:
        return self.put_many([data])[0]

    def put_many(self, items: Sequence[bytes]) -> list[str]:
        """Store every object of ``items`` (in one pack); return their CIDs, in order, once they
        are all durable.

        On a failure (:class:`ContentStoreFull`, :class:`ContentTooLarge`, another
        :class:`ContentStoreError`) the error's ``stored`` lists the CIDs of the objects before the
        failing one that are stored (those already present, or within the quota); nothing of the
        failing object or after it is left behind.
        """
        blobs = [data if type(data) is bytes else bytes(data) for data in items]
        binaries = [compute_cid_bytes(data) for data in blobs]
        cids = [cid_text(binary) for binary in binaries]
        with self._lock:
            failure = self._store(blobs, binaries, cids)
        if failure is not None:
            failure.error.stored = cids[: failure.index]
            raise failure.error
        return cids

    def get(self, cid: str) -> bytes:
        where = self.locate(cid)
        if where is None:
            raise ContentNotFound(f"no object {cid} in the content store", cid)
        if where.length > self.max_object_bytes:
            raise ContentTooLarge(f"object {cid} exceeds {self.max_object_bytes:,} bytes", cid)
        data = self._read(where, cid)
        if compute_cid(data) != cid:
            raise ContentCorrupt(f"object {cid} in {self.root} is corrupt: its bytes hash to another CID", cid)
        return data

    def has(self, cid: str) -> bool:
        return self.locate(cid) is not None

    def pin(self, cid: str) -> None:
        if not self.has(cid):
            raise ContentNotFound(f"cannot pin {cid}: not in the content store", cid)

    # -- beyond the protocol --------------------------------------------------------------

    def locate(self, cid: str) -> Location | None:
        """Where the object ``cid`` is stored, or None (looking for packs other processes wrote
        since the last look)."""
        key = cid_bytes(cid)
        with self._lock:
            where = self._index.get(key)
            if where is None:
                self._refresh()
                where = self._index.get(key)
        if where is None:
            legacy = self.root / cid[-3:-1] / cid
            try:
                return Location(legacy, 0, legacy.stat().st_size)
            except FileNotFoundError:
                return None
            except OSError as exc:
                raise ContentStoreError(f"cannot read the content store at {self.root}: {exc.strerror}", cid) from None
        return where

    def used_bytes(self) -> int:
        """Total size of the stored objects."""
        with self._lock:
            self._refresh()
            return self._used

    # -- internals ------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Read the index of every pack not read yet (under the lock)."""
        try:
            names = [e.name for e in os.scandir(self.packs) if e.name.endswith(".pack") and e.name not in self._loaded]
        except FileNotFoundError:
            return
        except OSError as exc:
            raise ContentStoreError(f"cannot read the content store at {self.root}: {exc.strerror}") from None
        for name in sorted(names):  # by creation time: a newer copy of an object wins
            path = self.packs / name
            try:
                entries = read_pack_index(path)
            except (OSError, PackFormatError):
                continue  # not readable as a pack: its objects are missing, the others unaffected
            self._add(path, entries)
            self._loaded.add(name)

    def _add(self, path: Path, entries: list[tuple[bytes, int, int]]) -> None:
        for binary, offset, length in entries:
            old = self._index.get(binary)
            self._used += length - (old.length if old is not None else 0)
            self._index[binary] = Location(path, offset, length)

    def _read(self, where: Location, cid: str) -> bytes:
        try:
            with open(where.path, "rb") as f:
                f.seek(where.offset)
                return f.read(where.length)
        except FileNotFoundError:
            raise ContentNotFound(f"no object {cid} in the content store (its file is gone)", cid) from None
        except OSError as exc:
            raise ContentStoreError(f"cannot read {cid} from the content store: {exc.strerror}", cid) from None

    def _present(self, binary: bytes, cid: str) -> bool:
        """Stored and intact (a damaged copy is written again)."""
        where = self._index.get(binary)
        if where is None:
            return False
        try:
            return compute_cid(self._read(where, cid)) == cid
        except ContentStoreError:
            return False

    def _store(self, blobs: list[bytes], binaries: list[bytes], cids: list[str]) -> _Failure | None:
        """Write the missing objects as one pack (under the lock). Returns the first failure, if
        any: the objects before it are durable, nothing of it or after it is kept."""
        self._refresh()
        new: list[tuple[int, bytes, bytes]] = []  # (index in the call, binary CID, bytes)
        planned: set[bytes] = set()
        added = 0
        failure: _Failure | None = None
        for index, (data, binary, cid) in enumerate(zip(blobs, binaries, cids)):
            if binary in planned or self._present(binary, cid):
                continue  # idempotent: already stored (or earlier in this batch)
            if len(data) > self.max_object_bytes:
                failure = _Failure(
                    index,
                    ContentTooLarge(
                        f"the object is {len(data):,} bytes; this store keeps at most {self.max_object_bytes:,}", cid
                    ),
                )
                break
            if self.max_bytes is not None and self._used + added + len(data) > self.max_bytes:
                failure = _Failure(
                    index,
                    ContentStoreFull(
                        f"the content store at {self.root} is full: storing {len(data):,} more bytes would "
                        f"exceed its quota of {self.max_bytes:,} bytes",
                        cid,
                    ),
                )
                break
            new.append((index, binary, data))
            planned.add(binary)
            added += len(data)
        if new:
            try:
                path, entries = self._write_pack(new)
            except OSError as exc:
                first = new[0][0]
                return _Failure(first, self._error(exc, cids[first], added))
            self._add(path, entries)
            self._loaded.add(path.name)
        return failure

    def _write_pack(self, new: list[tuple[int, bytes, bytes]]) -> tuple[Path, list[tuple[bytes, int, int]]]:
        self.packs.mkdir(parents=True, exist_ok=True)
        path = self.packs / f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}.pack"
        tmp: str | None
        fd, tmp = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=self.packs)
        try:
            entries = []
            with os.fdopen(fd, "wb", buffering=1 << 20) as f:  # few large writes: system calls cost here
                f.write(_MAGIC)
                offset = len(_MAGIC)
                for _, binary, data in new:
                    self._writer(f, data)
                    entries.append((binary, offset, len(data)))
                    offset += len(data)
                table = b"".join(_ENTRY.pack(*e) for e in entries) + _COUNT.pack(len(entries))
                f.write(table + hashlib.sha256(table).digest() + _END)
                f.flush()
                os.fsync(f.fileno())  # the bytes, before the pack gets its name
            os.replace(tmp, path)
            tmp = None
            _fsync_path(self.packs)  # the name, before the CIDs count as stored
            return path, entries
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass

    def _error(self, exc: OSError, cid: str, size: int) -> ContentStoreError:
        if exc.errno in _FULL_ERRNOS:
            return ContentStoreFull(
                f"the disk holding the content store ({self.root}) is full: could not store {size:,} bytes; "
                "nothing partial was kept",
                cid,
            )
        return ContentStoreError(f"could not store {cid} in {self.root}: {exc.strerror or exc}", cid)


__all__ = ["PACK_DIR", "LocalContentStore", "Location", "PackFormatError", "Writer", "read_pack_index"]
