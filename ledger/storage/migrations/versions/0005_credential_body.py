"""the sealed credential moves out of the credential row into credential_body

Sealing and confirming a batch rewrite every credential row of it. With the sealed credential
(~1.5 KB) inside the row, each of these updates rewrote every page of the batch's rows: ~400 MB of
WAL per 100,000 credentials on SQLite, and as much new row versions on PostgreSQL. Kept apart, the
rows they rewrite are ~150 bytes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: Union[str, Sequence[str], None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "credential_body",
        sa.Column("credential_id", sa.String(length=45), nullable=False),
        sa.Column("sealed_credential", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["credential_id"], ["credential.id"]),
        sa.PrimaryKeyConstraint("credential_id"),
    )
    op.execute("INSERT INTO credential_body (credential_id, sealed_credential) SELECT id, sealed_credential FROM credential")
    # ALTER TABLE … DROP COLUMN, on SQLite too (3.35+): a batch migration would rebuild the table,
    # and dropping the old one fails while other tables' rows refer to it (foreign keys are on, and
    # cannot be turned off inside the migration's transaction).
    op.drop_column("credential", "sealed_credential")


def downgrade() -> None:
    op.add_column("credential", sa.Column("sealed_credential", sa.LargeBinary(), nullable=True))
    op.execute("UPDATE credential SET sealed_credential = (SELECT sealed_credential FROM credential_body "
               "WHERE credential_body.credential_id = credential.id)")
    if op.get_bind().dialect.name != "sqlite":  # SQLite: NOT NULL again would rebuild the table (above)
        op.alter_column("credential", "sealed_credential", existing_type=sa.LargeBinary(), nullable=False)
    op.drop_table("credential_body")
