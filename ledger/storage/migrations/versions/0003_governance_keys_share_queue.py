"""governance API keys (no agency) and the content retry queue (pending encrypted shares)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.alter_column("agency_code", existing_type=sa.String(length=64), nullable=True)
    with op.batch_alter_table("content", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending_blob", sa.LargeBinary(), nullable=True))
        batch_op.create_index("ix_content_stored_next", ["stored", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("content", schema=None) as batch_op:
        batch_op.drop_index("ix_content_stored_next")
        batch_op.drop_column("pending_blob")
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.alter_column("agency_code", existing_type=sa.String(length=64), nullable=False)
