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
    assert {
        "agency",
        "credential",
        "batch",
        "lease",
        "audit_event",
        "idempotency_key",
        "storage_key",
        "status_list",
        "status_list_credential",
    } <= tables


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


def test_sealed_credentials_move_to_their_own_table_and_back(database_url):
    """0005 moves every row's sealed credential into credential_body, byte for byte; its downgrade
    moves them back."""
    engine = make_engine(database_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0004")
        conn.execute(
            text(
                "INSERT INTO agency (code, name, operator_address, signing_public_key, types, created_at) "
                f"VALUES ('edu', 'Edu', '0x{'11' * 20}', '0x{'22' * 32}', '[]', '2026-01-01')"
            )
        )
        for i in range(3):
            conn.execute(
                text(
                    "INSERT INTO credential (id, agency_code, type_name, digest, sealed_credential, state, "
                    "issued_at, updated_at, request_row) VALUES (:id, 'edu', 'T', :digest, :sealed, 'pending', "
                    "'2026-01-01', '2026-01-01', :i)"
                ),
                {"id": f"urn:uuid:{i}", "digest": f"0x{i:064x}", "sealed": bytes([i]) * (1500 + i), "i": i},
            )
    engine = init_database(database_url)
    assert _diff(engine) == []
    assert "sealed_credential" not in {c["name"] for c in inspect(engine).get_columns("credential")}
    with engine.connect() as conn:
        moved = conn.execute(
            text("SELECT credential_id, sealed_credential FROM credential_body ORDER BY credential_id")
        ).all()
    assert [(i, bytes(b)) for i, b in moved] == [(f"urn:uuid:{i}", bytes([i]) * (1500 + i)) for i in range(3)]
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0004")
    with engine.connect() as conn:
        back = conn.execute(text("SELECT id, sealed_credential FROM credential ORDER BY id")).all()
    assert [(i, bytes(b)) for i, b in back] == [(f"urn:uuid:{i}", bytes([i]) * (1500 + i)) for i in range(3)]
    assert "credential_body" not in inspect(engine).get_table_names()


def test_status_lists_come_and_go_with_0007(database_url):
    """0007 adds the status-list tables and each credential's list and index (NULL for those issued
    before); its downgrade removes them and keeps the credentials."""
    engine = make_engine(database_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0006")
        conn.execute(
            text(
                "INSERT INTO agency (code, name, operator_address, signing_public_key, types, created_at) "
                f"VALUES ('edu', 'Edu', '0x{'11' * 20}', '0x{'22' * 32}', '[]', '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO credential (id, agency_code, type_name, digest, state, issued_at, updated_at, "
                "request_row) VALUES ('urn:uuid:1', 'edu', 'T', :d, 'revoked', '2026-01-01', '2026-01-01', 0)"
            ),
            {"d": f"0x{1:064x}"},
        )
    engine = init_database(database_url)
    assert _diff(engine) == []
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("credential")}
    assert "ix_credential_status_list" in indexes
    with engine.begin() as conn:
        assert conn.execute(text("SELECT status_list_id, status_index FROM credential")).one() == (None, None)
        conn.execute(
            text(
                "INSERT INTO status_list (agency_code, list_id, public_key, size, next_index, created_at) "
                f"VALUES ('edu', 1, '0x{'22' * 32}', 131072, 1, '2026-01-01')"
            )
        )
        conn.execute(text("UPDATE credential SET status_list_id = 1, status_index = 0"))
        conn.execute(
            text(
                "INSERT INTO status_list_credential (agency_code, list_id, purpose, body, bits_sha256, "
                "generated_at, valid_until) VALUES ('edu', 1, 'revocation', '{}', :h, '2026-01-01', "
                "'2026-01-02')"
            ),
            {"h": "0" * 64},
        )
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0006")
    tables = set(inspect(engine).get_table_names())
    assert not {"status_list", "status_list_credential"} & tables
    assert not {"status_list_id", "status_index"} & {c["name"] for c in inspect(engine).get_columns("credential")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, state FROM credential")).all() == [("urn:uuid:1", "revoked")]


def test_0009_backfills_each_credentials_signing_key_from_its_status_list(database_url):
    """0009 gives every credential with a status list the key that owns the list (each key fills
    lists of its own); one without a list (issued before 0007) keeps NULL; the downgrade drops both
    columns and keeps the credentials."""
    engine = make_engine(database_url)
    keys = {1: f"0x{'22' * 32}", 2: f"0x{'33' * 32}"}
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0008")
        conn.execute(
            text(
                "INSERT INTO agency (code, name, operator_address, signing_public_key, types, created_at) "
                f"VALUES ('edu', 'Edu', '0x{'11' * 20}', '{keys[2]}', '[]', '2026-01-01')"
            )
        )
        for list_id, key in keys.items():
            conn.execute(
                text(
                    "INSERT INTO status_list (agency_code, list_id, public_key, size, next_index, created_at) "
                    "VALUES ('edu', :l, :k, 131072, 1, '2026-01-01')"
                ),
                {"l": list_id, "k": key},
            )
        for i, list_id in enumerate([1, 2, None]):
            conn.execute(
                text(
                    "INSERT INTO credential (id, agency_code, type_name, digest, state, issued_at, updated_at, "
                    "request_row, status_list_id, status_index) VALUES (:id, 'edu', 'T', :d, 'anchored', "
                    "'2026-01-01', '2026-01-01', 0, :l, 0)"
                ),
                {"id": f"urn:uuid:{i}", "d": f"0x{i:064x}", "l": list_id},
            )
    engine = init_database(database_url)
    assert _diff(engine) == []
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, signing_key, supersede_reason FROM credential ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [
        ("urn:uuid:0", keys[1], None),
        ("urn:uuid:1", keys[2], None),
        ("urn:uuid:2", None, None),
    ]
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0008")
    assert not {"signing_key", "supersede_reason"} & {c["name"] for c in inspect(engine).get_columns("credential")}
    with engine.connect() as conn:
        assert len(conn.execute(text("SELECT id FROM credential")).all()) == 3
