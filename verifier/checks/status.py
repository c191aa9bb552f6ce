"""5. status — not revoked, not suspended, as of now (the credential's own status and its batch's)."""
from ledger.chain.records import CredentialState

from ..chain_state import ChainUnavailable
from ..context import VerificationContext
from ..messages import reason_texts
from ..report import CheckResult, error, invalid, valid
from ..timefmt import iso_utc

NAME = "status"
_REVOKED, _SUSPENDED = CredentialState.REVOKED, CredentialState.SUSPENDED  # bound once (hot path)


def check_status(ctx: VerificationContext) -> CheckResult:
    try:
        batch = ctx.chain.root_status_of(ctx.deployment, ctx.bundle.anchor.root)
        own = ctx.chain.status_of(ctx.deployment, ctx.digest)
    except ChainUnavailable as exc:
        return error(NAME, "CHAIN_UNAVAILABLE", detail=str(exc))
    if batch.state == _REVOKED:
        return invalid(NAME, "BATCH_REVOKED", since=iso_utc(batch.since), **reason_texts(batch.reason))
    if own.state == _REVOKED:
        return invalid(NAME, "REVOKED", since=iso_utc(own.since), **reason_texts(own.reason))
    if own.state == _SUSPENDED:
        return invalid(NAME, "SUSPENDED", since=iso_utc(own.since), **reason_texts(own.reason))
    return valid(NAME, "STATUS_ACTIVE")
