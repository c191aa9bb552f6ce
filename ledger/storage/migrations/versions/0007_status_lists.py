"""W3C Bitstring Status Lists: the lists, their published credentials, each credential's list and index

* ``status_list``: one list of an agency (``list_id`` numbered per agency from 1), owned by one
  signing key (``public_key``), ``size`` entries, handed out in order from ``next_index``
  (ledger.issuance.status_allocation);
* ``status_list_credential``: the signed list credential last published for each list and purpose
  (ledger.issuance.status_publisher), served as is by ``GET /status/{agency}/{list_id}/{purpose}``;
* ``credential.status_list_id`` / ``status_index``: where a credential's two status entries point
  (NULL for credentials issued before protocol v2);
* ``ix_credential_status_list``: one list's revoked and suspended credentials, and only those
  (partial: the publisher reads them every few seconds; every other credential stays out of it).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: Union[str, Sequence[str], None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_STATUS_CONDITION = "state IN ('revoked', 'suspended')"


def upgrade() -> None:
    op.create_table(
        "status_list",
        sa.Column("agency_code", sa.String(length=64), nullable=False),
        sa.Column("list_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("public_key", sa.String(length=66), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("next_index", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_code"], ["agency.code"]),
        sa.PrimaryKeyConstraint("agency_code", "list_id"),
    )
    op.create_table(
        "status_list_credential",
        sa.Column("agency_code", sa.String(length=64), nullable=False),
        sa.Column("list_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("bits_sha256", sa.String(length=64), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_code", "list_id"], ["status_list.agency_code", "status_list.list_id"]),
        sa.PrimaryKeyConstraint("agency_code", "list_id", "purpose"),
    )
    # ALTER TABLE … ADD COLUMN and index DDL are native on SQLite too: no table rebuild (see 0005).
    op.add_column("credential", sa.Column("status_list_id", sa.Integer(), nullable=True))
    op.add_column("credential", sa.Column("status_index", sa.Integer(), nullable=True))
    op.create_index("ix_credential_status_list", "credential", ["agency_code", "status_list_id", "status_index"],
                    unique=False, sqlite_where=sa.text(_STATUS_CONDITION), postgresql_where=sa.text(_STATUS_CONDITION))


def downgrade() -> None:
    op.drop_index("ix_credential_status_list", table_name="credential")
    op.drop_column("credential", "status_index")   # ALTER TABLE … DROP COLUMN (SQLite 3.35+), as in 0005
    op.drop_column("credential", "status_list_id")
    op.drop_table("status_list_credential")
    op.drop_table("status_list")
