"""PostgreSQL: confirming a batch rewrites its credential rows in place (HOT updates)

Confirming a batch sets ``state`` (and ``updated_at``) on every credential of it. On PostgreSQL an
update is HOT (heap-only: no new index entries) only when no index refers to a changed column and
the row's page has room for the new version. Neither held: ``ix_credential_status_list`` (0007) had
``state`` in its condition, and the pages were full. So confirming 100,000 credentials added
400,000 index entries (primary key, digest, agency listing, leaves): 3.3 s of the server's CPU,
as long as closing the batch.

On PostgreSQL only:

* ``ix_credential_status_list`` holds the credentials whose status was ever changed
  (``status_reason IS NOT NULL``: revoking, suspending and reinstating always record a reason code,
  ``ledger.issuance.lifecycle`` and ``status_sync``), a superset of the revoked and suspended ones
  the publisher asks for; its query names both conditions. SQLite keeps the condition on ``state``.
  A check constraint holds the database to it (a revoked or suspended credential without a reason
  would be missing from its list): a row written without one before is given 0, "unspecified",
  which is what a missing reason meant.
* ``credential`` leaves half of each page free (``fillfactor = 50``): closing a batch writes each
  row's new version beside the old one, and confirming finds room for its version on the same page
  once the closed-over versions are pruned. Measured, 100,000 credentials: the confirming update
  0.27 s of server CPU instead of 3.3 s.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: Union[str, Sequence[str], None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_INDEX, _COLUMNS = "ix_credential_status_list", ["agency_code", "status_list_id", "status_index"]
_STATE_CONDITION = "state IN ('revoked', 'suspended')"
_REASON_CONDITION = "status_reason IS NOT NULL"
_CHECK = "ck_credential_changed_status_has_reason"


def _index_on_postgresql(condition: str) -> None:
    op.drop_index(_INDEX, table_name="credential")
    op.create_index(_INDEX, "credential", _COLUMNS, unique=False, postgresql_where=sa.text(condition))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"UPDATE credential SET status_reason = 0 WHERE {_STATE_CONDITION} AND status_reason IS NULL")
    op.create_check_constraint(_CHECK, "credential", f"NOT ({_STATE_CONDITION}) OR {_REASON_CONDITION}")
    _index_on_postgresql(_REASON_CONDITION)
    op.execute("ALTER TABLE credential SET (fillfactor = 50)")  # rows written from now on


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE credential RESET (fillfactor)")
    _index_on_postgresql(_STATE_CONDITION)
    op.drop_constraint(_CHECK, "credential", type_="check")
