"""A consistent copy of the issuer's database while the services write to it.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies the pages under a read
transaction, so a snapshot never holds half a commit. PostgreSQL: ``pg_dump`` (custom format),
which dumps one transaction-consistent snapshot; ``pg_restore`` reads it back.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

SQLITE_PREFIX = "sqlite:///"


class DatabaseBackupError(Exception):
    """The database could not be copied or restored (the tool's message included)."""


def is_sqlite(url: str) -> bool:
    return url.startswith(SQLITE_PREFIX)


def sqlite_path(url: str) -> Path:
    return Path(url[len(SQLITE_PREFIX) :])


def snapshot_sqlite(url: str, out: Path) -> None:
    """Copy the SQLite database at ``url`` to ``out`` with the online backup API."""
    source_path = sqlite_path(url)
    if not source_path.exists():
        raise DatabaseBackupError(f"database_url: no SQLite database at {source_path}")
    src = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(out)
    try:
        # pages=0: one step, the whole database under one read transaction (a consistent copy).
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _libpq_args(url: str) -> list[str]:
    """pg_dump/pg_restore connection arguments from a SQLAlchemy URL (the driver suffix dropped)."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgresql"):
        raise DatabaseBackupError(f"database_url: unsupported scheme {parts.scheme!r} (sqlite or postgresql)")
    return ["--dbname", parts._replace(scheme="postgresql").geturl()]


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise DatabaseBackupError(f"{name} not found: install PostgreSQL's client tools (apt postgresql-client)")
    return found


def snapshot_postgres(url: str, out: Path) -> None:
    """``pg_dump -Fc`` of the database at ``url`` into ``out``."""
    result = subprocess.run(
        [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(out), *_libpq_args(url)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise DatabaseBackupError(f"pg_dump failed: {result.stderr.strip()}")


def restore_postgres(dump: Path, url: str) -> None:
    """``pg_restore`` a custom-format dump into the (empty) database at ``url``."""
    result = subprocess.run(
        [_tool("pg_restore"), "--no-owner", "--exit-on-error", *_libpq_args(url), str(dump)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise DatabaseBackupError(f"pg_restore failed: {result.stderr.strip()}")
