"""6. validity — now is within validFrom … validUntil."""

from ledger.protocol.datetimes import format_utc
from ledger.verification.context import VerificationContext
from ledger.verification.report import CheckResult, invalid, valid

NAME = "validity"


def check_validity(ctx: VerificationContext) -> CheckResult:
    assert ctx.valid_from is not None  # run after `format` (ledger.verification.verify), which set it
    if ctx.now < ctx.valid_from:
        return invalid(NAME, "NOT_YET_VALID", validFrom=format_utc(ctx.valid_from))
    if ctx.valid_until is not None and ctx.now > ctx.valid_until:
        return invalid(NAME, "EXPIRED", validUntil=format_utc(ctx.valid_until))
    return valid(NAME, "WITHIN_VALIDITY")
