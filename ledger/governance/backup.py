"""Backup and restore of a data directory: one encrypted, streamed file.

What a backup holds: the configuration, the passphrase file (when the data directory has one), the
encrypted key files, the local content store and a consistent snapshot of the issuer's database
(``ledger.storage.backup``). The embedded chain's state (``chain/``) is left out: the chain is the
record the database is checked against, not a copy of it; a state dump older or newer than the
database snapshot would make anchors disagree with the batches. A restored directory is pointed at
the running chain (its RPC URL) instead.

File format (version 1)::

    b"CERTLEDGER-BACKUP\\n" ‖ u32 header length ‖ header (canonical JSON) ‖ chunks

    header = {"type": "CertLedgerBackup", "version": 1, "created": ..., "database": "sqlite" | "postgresql",
              "kdf": {"name": "scrypt", "n", "r", "p", "salt"}, "cipher": {"name": "aes-256-gcm-stream",
              "chunk": 1048576, "prefix": <b64url 7 bytes>}}

Each chunk is ``u32 length ‖ AES-256-GCM(ciphertext ‖ tag)`` of up to ``chunk`` bytes of a tar
stream. The key is derived from the passphrase with scrypt, as for key files
(``key_files._derive``). The nonce of chunk i is prefix ‖ u32 i ‖ one byte that is 1 on the last
chunk only (the STREAM construction): reordering, dropping or truncating chunks fails the tag. Every
chunk's associated data is the header, so an edited header fails too.
"""

from __future__ import annotations

import base64
import io
import json
import os
import secrets
import shutil
import struct
import tarfile
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from ledger.governance.key_files import DEFAULT_SCRYPT_N, _derive
from ledger.protocol.aes_gcm import TAG_BYTES, AesGcm, AuthenticationFailed
from ledger.protocol.canonical import canonicalize
from ledger.storage import backup as db_backup

MAGIC = b"CERTLEDGER-BACKUP\n"
BACKUP_TYPE = "CertLedgerBackup"
BACKUP_VERSION = 1
CHUNK = 1 << 20
_PREFIX_BYTES = 7
_MAX_HEADER = 1 << 16
DB_SQLITE = "database/certledger.db"
DB_PGDUMP = "database/pg_dump.custom"
# Not copied from the data directory: the chain's own state (see the module docstring), and the live
# SQLite files, which the online backup copies consistently instead.
_SKIPPED_DIRS = {"chain"}


class BackupError(Exception):
    """A backup that cannot be written or restored; the message names the reason."""


def _b64e(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def _b64d(s: object) -> bytes:
    if not isinstance(s, str):
        raise BackupError("backup header: a base64url field is not a string")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", index) + (b"\x01" if last else b"\x00")


class _EncryptingWriter(io.RawIOBase):
    """A write-only file: bytes in, encrypted chunks out (one chunk held in memory at a time)."""

    def __init__(self, out: BinaryIO, key: bytes, prefix: bytes, aad: bytes) -> None:
        self._out, self._aead, self._prefix, self._aad = out, AesGcm(key), prefix, aad
        self._buffer = bytearray()
        self._index = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self._buffer += data
        # keep at least one chunk back: the last chunk is only known when the stream closes
        while len(self._buffer) > CHUNK:
            self._emit(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def _emit(self, plain: bytes, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._prefix, self._index, last), plain, self._aad)
        self._out.write(struct.pack(">I", len(sealed)) + sealed)
        self._index += 1

    def finish(self) -> None:
        self._emit(bytes(self._buffer), last=True)
        self._buffer.clear()


def _read_header(fh: BinaryIO) -> tuple[dict, bytes]:
    if fh.read(len(MAGIC)) != MAGIC:
        raise BackupError("not a CertLedger backup (the file does not start with CERTLEDGER-BACKUP)")
    raw_len = fh.read(4)
    if len(raw_len) != 4:
        raise BackupError("backup truncated in its header")
    (length,) = struct.unpack(">I", raw_len)
    if length > _MAX_HEADER:
        raise BackupError(f"backup header too long ({length} bytes)")
    aad = fh.read(length)
    try:
        header = json.loads(aad)
    except ValueError:
        raise BackupError("backup header is not valid JSON") from None
    if not isinstance(header, dict) or header.get("type") != BACKUP_TYPE:
        raise BackupError(f"backup header: type must be {BACKUP_TYPE!r}")
    if header.get("version") != BACKUP_VERSION:
        raise BackupError(f"backup header: unsupported version {header.get('version')!r}")
    return header, aad


def _key_for(header: dict, passphrase: str) -> tuple[bytes, bytes]:
    kdf, cipher = header.get("kdf"), header.get("cipher")
    if not isinstance(kdf, dict) or kdf.get("name") != "scrypt":
        raise BackupError("backup header: kdf must be scrypt")
    if not isinstance(cipher, dict) or cipher.get("name") != "aes-256-gcm-stream" or cipher.get("chunk") != CHUNK:
        raise BackupError("backup header: cipher must be aes-256-gcm-stream with 1 MiB chunks")
    n, r, p = kdf.get("n"), kdf.get("r"), kdf.get("p")
    if not all(type(v) is int for v in (n, r, p)) or not (2**10 <= n <= 2**20) or n & (n - 1) or r != 8 or p != 1:  # type: ignore[operator]
        raise BackupError("backup header: scrypt parameters out of the accepted range")
    prefix = _b64d(cipher.get("prefix"))
    if len(prefix) != _PREFIX_BYTES:
        raise BackupError(f"backup header: cipher.prefix must be {_PREFIX_BYTES} bytes")
    return _derive(passphrase, _b64d(kdf.get("salt")), n, r, p), prefix  # type: ignore[arg-type]


def _chunks(fh: BinaryIO, key: bytes, prefix: bytes, aad: bytes) -> Iterator[bytes]:
    """The decrypted chunks, each checked by its tag; a missing last chunk or trailing bytes are refused."""
    aead = AesGcm(key)
    index = 0
    while True:
        raw_len = fh.read(4)
        if len(raw_len) != 4:
            raise BackupError(f"backup truncated: chunk {index} and the final chunk are missing")
        (length,) = struct.unpack(">I", raw_len)
        if not TAG_BYTES <= length <= CHUNK + TAG_BYTES:
            raise BackupError(f"backup chunk {index}: bad length {length}")
        sealed = fh.read(length)
        if len(sealed) != length:
            raise BackupError(f"backup truncated inside chunk {index}")
        last = not fh.peek(1)[:1] if hasattr(fh, "peek") else False
        try:
            yield aead.decrypt(_nonce(prefix, index, last), sealed, aad)
        except AuthenticationFailed:
            raise BackupError(
                f"backup chunk {index} fails its authentication tag: wrong passphrase, or the file was modified"
                " or truncated"
            ) from None
        if last:
            return
        index += 1


class _DecryptingReader(io.RawIOBase):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._buffer = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buffer))
        b[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def create_backup(settings, passphrase: str, out: Path, *, scrypt_n: int = DEFAULT_SCRYPT_N) -> dict:
    """Write an encrypted backup of ``settings.data_dir`` to ``out``; returns the header and what it holds."""
    out = Path(out)
    if out.exists():
        raise BackupError(f"--out: {out} already exists; refusing to overwrite it")
    data_dir = Path(settings.data_dir)
    url = settings.resolved_database_url
    sqlite = db_backup.is_sqlite(url)
    live_db = db_backup.sqlite_path(url).resolve() if sqlite else None
    salt = os.urandom(16)
    prefix = os.urandom(_PREFIX_BYTES)
    header = {
        "type": BACKUP_TYPE,
        "version": BACKUP_VERSION,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "database": "sqlite" if sqlite else "postgresql",
        "kdf": {"name": "scrypt", "n": scrypt_n, "r": 8, "p": 1, "salt": _b64e(salt)},
        "cipher": {"name": "aes-256-gcm-stream", "chunk": CHUNK, "prefix": _b64e(prefix)},
    }
    aad = canonicalize(header)
    key = _derive(passphrase, salt, scrypt_n, 8, 1)
    files = 0
    tmp_out = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
    try:
        with tempfile.TemporaryDirectory(prefix="certledger-backup-") as work:
            # the database first: files written after it (content, keys) are at least as new as it
            snapshot = Path(work) / "db"
            if sqlite:
                db_backup.snapshot_sqlite(url, snapshot)
            else:
                db_backup.snapshot_postgres(url, snapshot)
            with open(tmp_out, "xb") as fh:
                fh.write(MAGIC + struct.pack(">I", len(aad)) + aad)
                writer = _EncryptingWriter(fh, key, prefix, aad)
                with tarfile.open(fileobj=writer, mode="w|") as tar:  # type: ignore[call-overload]
                    tar.add(snapshot, arcname=DB_SQLITE if sqlite else DB_PGDUMP)
                    for path in sorted(data_dir.rglob("*")):
                        rel = path.relative_to(data_dir)
                        if rel.parts[0] in _SKIPPED_DIRS or path.is_dir():
                            continue
                        if (
                            live_db is not None
                            and path.resolve().name.startswith(live_db.name)
                            and (path.resolve().parent == live_db.parent)
                        ):
                            continue  # certledger.db, -wal, -shm: the snapshot stands for them
                        tar.add(path, arcname=f"data/{rel.as_posix()}", recursive=False)
                        files += 1
                writer.finish()
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp_out, out)
    except BaseException:
        tmp_out.unlink(missing_ok=True)
        raise
    return {**header, "files": files, "bytes": out.stat().st_size}


def verify_backup(path: Path, passphrase: str) -> dict:
    """Check every chunk's tag without writing anything; returns the header."""
    with open(path, "rb") as fh:
        header, aad = _read_header(fh)
        key, prefix = _key_for(header, passphrase)
        for _ in _chunks(fh, key, prefix, aad):
            pass
    return header


def restore_backup(path: Path, passphrase: str, data_dir: Path, *, database_url: str | None = None) -> dict:
    """Restore into ``data_dir`` (absent or empty); the whole file is authenticated before anything is written.

    SQLite backups restore into the data directory (as the configuration names it). PostgreSQL backups
    need ``database_url``: an empty database the dump is restored into; the restored configuration names it.
    """
    data_dir = Path(data_dir)
    if data_dir.exists() and any(data_dir.iterdir()):
        raise BackupError(f"--data-dir: {data_dir} is not empty; restore only into a new directory")
    header = verify_backup(path, passphrase)
    if header.get("database") == "postgresql" and not database_url:
        raise BackupError("--database-url: this backup holds a PostgreSQL dump; name an empty database to restore into")
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    restored = 0
    with tempfile.TemporaryDirectory(prefix="certledger-restore-") as work, open(path, "rb") as fh:
        _, aad = _read_header(fh)
        key, prefix = _key_for(header, passphrase)
        reader = io.BufferedReader(_DecryptingReader(_chunks(fh, key, prefix, aad)), buffer_size=CHUNK)
        dump = None
        with tarfile.open(fileobj=reader, mode="r|") as tar:
            for member in tar:
                if not member.isfile():
                    raise BackupError(f"backup member {member.name!r} is not a regular file")
                name = member.name
                if name.startswith("data/"):
                    target = data_dir / name[len("data/") :]
                elif name in (DB_SQLITE, DB_PGDUMP):
                    target = Path(work) / "db"
                    dump = name
                else:
                    raise BackupError(f"backup member {name!r} is not part of a CertLedger backup")
                if not target.resolve().is_relative_to(data_dir.resolve()) and dump != name:
                    raise BackupError(f"backup member {name!r} points outside the data directory")
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                source = tar.extractfile(member)
                assert source is not None  # a regular file, checked above
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, member.mode & 0o700 or 0o600)
                with os.fdopen(fd, "wb") as dest:
                    shutil.copyfileobj(source, dest, CHUNK)
                restored += 1
        if dump is None:
            raise BackupError("backup holds no database snapshot")
        config_path = data_dir / "config.json"
        config = json.loads(config_path.read_text("utf-8"))
        if dump == DB_SQLITE:
            db_url = config.get("database_url", "sqlite:///certledger.db")
            rel = db_url[len(db_backup.SQLITE_PREFIX) :] if db_backup.is_sqlite(db_url) else ""
            if not rel or Path(rel).is_absolute():
                # a database outside the old directory: the restored one lives inside the new directory
                rel = "certledger.db"
                config["database_url"] = db_backup.SQLITE_PREFIX + rel
                config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", "utf-8")
            target_db = data_dir / rel
            if target_db.exists():
                raise BackupError(f"the restored configuration's database {target_db} already exists")
            target_db.parent.mkdir(parents=True, exist_ok=True)
            os.replace(Path(work) / "db", target_db)
        else:
            db_backup.restore_postgres(Path(work) / "db", database_url)  # type: ignore[arg-type]
            config["database_url"] = database_url
            config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", "utf-8")
    return {**header, "files": restored}
