"""Each credential's signing key, and the reason its predecessor is revoked with

* ``credential.signing_key``: the Ed25519 public key (``0x`` + 64 hex) that signed the credential,
  written at issuance. A key compromise (``ledger.issuance.key_compromise``) asks which credentials
  a key signed; without this column that needed every sealed body decrypted. Existing rows are
  filled from their status list (``status_list.public_key``: each key fills lists of its own,
  ``ledger.issuance.status_allocation``), in SQL. Rows issued before 0007 have no status list and
  stay NULL here; the compromise report fills them from their sealed credential's
  ``proof.verificationMethod`` (which needs the storage key, so not in a migration).
* ``credential.supersede_reason``: on a credential that supersedes another, the reason code the
  older one is revoked with once this one is anchored (NULL: 1, superseded; 3 for a re-issue after
  a key compromise).

No index: the compromise report reaches the credentials through their batches
(``ix_credential_batch_leaf``), and an index would cost every bulk insert for a rare question.
Both columns are written once, at issuance, so confirming a batch stays a HOT update (0008).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: Union[str, Sequence[str], None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("credential", sa.Column("signing_key", sa.String(length=66), nullable=True))
    op.add_column("credential", sa.Column("supersede_reason", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE credential SET signing_key = (SELECT s.public_key FROM status_list s"
        " WHERE s.agency_code = credential.agency_code AND s.list_id = credential.status_list_id)"
        " WHERE status_list_id IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_column("credential", "supersede_reason")  # ALTER TABLE … DROP COLUMN (SQLite 3.35+), as in 0005
    op.drop_column("credential", "signing_key")
