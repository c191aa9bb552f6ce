"""credential indexes for bulk batches: drop the single-column indexes the composite ones cover
(agency_code, issued_at, state, type_name), index batch_id with leaf_index, and find waiting
credentials by (agency_code, batch_id IS NULL, issuance order) instead of by state

Sealing and confirming a batch update every credential row of it; on PostgreSQL each such update adds
an entry to every index of the table, so twelve indexes made a 100,000-credential batch several
times slower; with no index on ``state``, confirming a batch (which changes only the state) touches
no index at all. Queries keep an index: listings use (agency_code, issued_at, id), the batcher
(agency_code, batch_id, issued_at, request_row, id), bundles (batch_id, leaf_index).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

"""
from typing import Sequence, Union

from alembic import op

revision: str = "0004"
down_revision: Union[str, Sequence[str], None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_DROPPED = {
    "ix_credential_agency_code": ["agency_code"],
    "ix_credential_issued_at": ["issued_at"],
    "ix_credential_state": ["state"],
    "ix_credential_type_name": ["type_name"],
    "ix_credential_batch_id": ["batch_id"],
}
_REPLACED = ("ix_credential_agency_state_issued", ["agency_code", "state", "issued_at"])
_NEW = {
    "ix_credential_batch_leaf": ["batch_id", "leaf_index"],
    "ix_credential_agency_unbatched": ["agency_code", "batch_id", "issued_at", "request_row", "id"],
}


def upgrade() -> None:
    with op.batch_alter_table("credential", schema=None) as batch_op:
        for name in [*_DROPPED, _REPLACED[0]]:
            batch_op.drop_index(name)
        for name, columns in _NEW.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("credential", schema=None) as batch_op:
        for name in _NEW:
            batch_op.drop_index(name)
        for name, columns in [*_DROPPED.items(), _REPLACED]:
            batch_op.create_index(name, columns, unique=False)
