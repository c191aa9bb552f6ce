"""The schema comes from the Alembic migrations, on SQLite and PostgreSQL, and matches the models."""
from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from ledger.storage.db import init_database, make_engine
from ledger.storage.migrate import INITIAL_REVISION, alembic_config, current_revision, head_revision

pytestmark = pytest.mark.integration


def _diff(engine):
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)


def test_init_database_upgrades_to_head_and_matches_the_models(database_url):
    engine = init_database(database_url)
    assert current_revision(engine) == head_revision()
    assert _diff(engine) == []
    tables = set(inspect(engine).get_table_names())
    assert {"agency", "credential", "batch", "lease", "audit_event", "idempotency_key", "storage_key"} <= tables


def test_init_database_twice_is_a_no_op(database_url):
    init_database(database_url)
    engine = init_database(database_url)
    assert current_revision(engine) == head_revision()


def test_a_database_made_before_migrations_is_stamped_then_upgraded(database_url):
    engine = make_engine(database_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), INITIAL_REVISION)
        conn.execute(text("DROP TABLE alembic_version"))  # what create_all left behind
    engine = init_database(database_url)
    assert current_revision(engine) == head_revision()
    assert _diff(engine) == []


def test_downgrade_to_the_initial_revision_and_back(database_url):
    engine = init_database(database_url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), INITIAL_REVISION)
    assert current_revision(engine) == INITIAL_REVISION
    assert "idempotency_key" not in inspect(engine).get_table_names()
    engine = init_database(database_url)
    assert _diff(engine) == []
