"""Schema migrations with Alembic: the scripts live in ``ledger/storage/migrations`` (shipped in the package).

``upgrade_to_head(engine)`` is what :func:`ledger.storage.db.init_database` runs. Several processes may
start at once: on PostgreSQL an advisory lock serialises them, on SQLite the write lock does (each
migration runs in one transaction, DDL included), and a loser of a race simply finds the schema current.

A database created before migrations existed (``create_all`` of the first models) has the tables
but no ``alembic_version``: it is stamped at the initial revision, then upgraded.

Developers: ``python -m ledger.storage.migrate revision --autogenerate -m "what changed"`` (against
``sqlite:///<tmp>`` by default, or ``--url URL``), then edit the script to use plain SQLAlchemy types.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
INITIAL_REVISION = "0001"
_PG_LOCK_KEY = 0x43657274  # "Cert": advisory lock id for migrations


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()  # type: ignore[return-value]  # there are migrations


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_to_head(engine: Engine, attempts: int = 5) -> None:
    """Bring the schema to the newest revision (no-op when it is current)."""
    for attempt in range(1, attempts + 1):
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
                tables = set(inspect(conn).get_table_names())
                if "alembic_version" not in tables and "agency" in tables:
                    log.info("database has tables but no migration history: stamping revision %s", INITIAL_REVISION)
                    command.stamp(alembic_config(conn), INITIAL_REVISION)
                command.upgrade(alembic_config(conn), "head")
            return
        except OperationalError as exc:  # SQLite: another process migrating right now
            if attempt == attempts or engine.dialect.name != "sqlite":
                raise
            log.info("schema upgrade raced with another process (%s); retrying", exc.orig)
            time.sleep(0.2 * attempt)


def _next_rev_id() -> str:
    numbers = [int(p.name[:4]) for p in (MIGRATIONS_DIR / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")]
    return f"{max(numbers, default=0) + 1:04d}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ledger.storage.migrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="database URL (default: a scratch SQLite file upgraded to head)")
    sub = parser.add_subparsers(dest="cmd", required=True)
    rev = sub.add_parser("revision")
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--autogenerate", action="store_true")
    rev.add_argument("--rev-id", help="revision id (default: the next number, e.g. 0003)")
    sub.add_parser("upgrade")
    sub.add_parser("current")
    args = parser.parse_args(argv)

    from ledger.storage.db import make_engine

    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{tmp}/scratch.db"
        engine = make_engine(url)
        if args.cmd == "revision":
            upgrade_to_head(engine)
            with engine.begin() as conn:
                command.revision(
                    alembic_config(conn),
                    message=args.message,
                    autogenerate=args.autogenerate,
                    rev_id=args.rev_id or _next_rev_id(),
                )
        elif args.cmd == "upgrade":
            upgrade_to_head(engine)
        print(current_revision(engine))


if __name__ == "__main__":
    main()
