"""The issuer service's core, as a library: the FastAPI app (issuer_api/) and the CLI call these.

Build one :class:`IssuanceContext` (database engine, at-rest cipher, chain access, clock) and pass it
to every call::

    ctx = IssuanceContext.from_settings(settings, rpc_urls)
    issued = issue_one(ctx, "zj-hz-education", "DegreeCertificate", subject, idempotency_key="req-1")
    result = issue_file(ctx, "zj-hz-education", "DegreeCertificate", csv_bytes, "csv")
    anchor_once(ctx, flush=True)                  # or run_anchorer(ctx, stop_event) in a worker
    bundle = get_bundle(ctx, "zj-hz-education", issued.id)
    revoke(ctx, "zj-hz-education", [issued.id], Reason.ISSUED_IN_ERROR)

Policies (bulk errors, idempotency, supersede): ``ledger.issuance.issue``; the pipeline and its crash
safety: ``ledger.issuance.anchoring``; status changes: ``ledger.issuance.lifecycle``.
"""

from ledger.chain import Reason
from ledger.issuance import errors, results
from ledger.issuance.anchoring import (
    advance_batch,
    anchor_once,
    anchor_pending,
    anchoring_wait,
    close_batches,
    pending_work,
    revoke_superseded,
    run_anchorer,
)
from ledger.issuance.chain_access import AgencyKeyring, ChainAccess
from ledger.issuance.context import BatchPolicy, IssuanceContext
from ledger.issuance.errors import *  # noqa: F403  (every error, as errors.__all__ lists them)
from ledger.issuance.issue import issue_file, issue_many, issue_one, supersede
from ledger.issuance.lifecycle import change_status, reinstate, revoke, suspend
from ledger.issuance.queries import audit_log, get_bundle, get_credential, get_credential_info, list_credentials
from ledger.issuance.registry import get_agency, get_type, list_types, register_agency, register_type
from ledger.issuance.results import *  # noqa: F403  (every result, as results.__all__ lists them)
from ledger.issuance.rows import Row, parse_rows, rows_from_csv, rows_from_jsonl, rows_from_objects

__all__ = [
    # context
    "AgencyKeyring",
    "BatchPolicy",
    "ChainAccess",
    "IssuanceContext",
    # types and agencies
    "get_agency",
    "get_type",
    "list_types",
    "register_agency",
    "register_type",
    # issuance
    "Row",
    "issue_file",
    "issue_many",
    "issue_one",
    "parse_rows",
    "rows_from_csv",
    "rows_from_jsonl",
    "rows_from_objects",
    "supersede",
    # anchoring
    "advance_batch",
    "anchor_once",
    "anchor_pending",
    "anchoring_wait",
    "close_batches",
    "pending_work",
    "revoke_superseded",
    "run_anchorer",
    # lifecycle
    "Reason",
    "change_status",
    "reinstate",
    "revoke",
    "suspend",
    # queries
    "audit_log",
    "get_bundle",
    "get_credential",
    "get_credential_info",
    "list_credentials",
]
# the results and errors, as their modules list them (imported above with *)
__all__ += results.__all__
__all__ += errors.__all__
