"""How the issuance library's refusals become HTTP problems: one table, one handler."""

from __future__ import annotations

from http_common.problem import Problem
from ledger.issuance import errors as e
from ledger.issuance.w3c_issue import CredentialIdInUse
from ledger.protocol.errors import ValidationError

STATUS = {
    e.AgencyNotFound: 404,
    e.CredentialNotFound: 404,
    e.UnknownCredentialType: 422,
    e.TypeNotPermitted: 403,
    e.IdempotencyConflict: 409,
    e.BulkRejected: 422,
    e.NotAnchored: 409,
    e.InvalidTransition: 409,
    e.SupersedeRefused: 409,
    e.KeyRevocationRefused: 409,
    e.UnknownSigningKey: 404,
    e.StatusChangeFailed: 502,
    e.AgencyKeysMissing: 503,
    CredentialIdInUse: 409,
}


def problem_for(exc: Exception) -> Problem:
    if isinstance(exc, ValidationError):
        return Problem(
            422, "VALIDATION_FAILED", str(exc), "The input does not satisfy its schema", errors=exc.to_list()
        )
    if isinstance(exc, e.BulkRejected):
        return Problem(
            422, exc.code, str(exc), "Some rows are invalid; nothing was issued", rows=[r.to_dict() for r in exc.errors]
        )
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return Problem(STATUS[cls], exc.code, str(exc))  # type: ignore[attr-defined]  # the STATUS errors have codes
    return Problem(400, getattr(exc, "code", "BAD_REQUEST"), str(exc))
