"""5. status — in the namespace of the credential's agency A: the batch's status (rootStatusOf(A, root))
and then the credential's own (statusOf(A, digest)). VALID only when both states are exactly 0
(active); 1 is suspended, 2 revoked, and any other value is INVALID: an unknown state never passes."""

from ledger.chain.records import CredentialState
from ledger.verification.chain_state import ChainUnavailable
from ledger.verification.context import VerificationContext
from ledger.verification.messages import reason_texts
from ledger.verification.report import CheckResult, error, invalid, valid
from ledger.verification.timefmt import iso_utc

NAME = "status"
_ACTIVE, _SUSPENDED, _REVOKED = CredentialState.ACTIVE, CredentialState.SUSPENDED, CredentialState.REVOKED


def check_status(ctx: VerificationContext) -> CheckResult:
    # run only when `anchor` passed (ledger.verification.verify), which set these (and `format` the rest)
    assert ctx.bundle is not None and ctx.bundle.anchor is not None and ctx.agency_id is not None
    assert ctx.deployment is not None and ctx.digest is not None
    try:
        batch = ctx.chain.root_status_of(ctx.deployment, ctx.agency_id, ctx.bundle.anchor.root)
        own = ctx.chain.status_of(ctx.deployment, ctx.agency_id, ctx.digest)
    except ChainUnavailable as exc:
        return error(NAME, "CHAIN_UNAVAILABLE", detail=str(exc))
    for record, prefix in ((batch, "BATCH_"), (own, "")):
        if record.state == _ACTIVE:
            continue
        if record.state == _REVOKED:
            return invalid(NAME, f"{prefix}REVOKED", since=iso_utc(record.since), **reason_texts(record.reason))
        if record.state == _SUSPENDED:
            return invalid(NAME, f"{prefix}SUSPENDED", since=iso_utc(record.since), **reason_texts(record.reason))
        scope = ("batch", "批次") if prefix else ("credential", "凭证")
        return invalid(NAME, "UNKNOWN_STATE", scope=scope[0], scopeZh=scope[1], state=record.state)
    return valid(NAME, "STATUS_ACTIVE")
