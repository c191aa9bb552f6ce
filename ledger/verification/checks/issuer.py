"""4. issuer — in the namespace of the agency A the credential names: A is registered; the signing key
K was registered for A and in force at the anchor time t (validFrom <= t, and not revoked as of t or
earlier); A may issue the type; the proof's `created` is not after t. Reports the agency's on-chain
name."""

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from ledger.protocol.identifiers import type_id
from ledger.verification.chain_state import ChainUnavailable
from ledger.verification.context import VerificationContext
from ledger.verification.report import CheckResult, error, invalid, valid
from ledger.verification.timefmt import iso_utc

NAME = "issuer"

_type_id = lru_cache(maxsize=4096)(type_id)  # keccak256 of the same few type names, bundle after bundle
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def _later_than(created: datetime, t: int) -> bool:
    """``created`` (microseconds) after the anchor time ``t`` (whole seconds), in integers: a float
    timestamp loses the microseconds from the year 2514 on."""
    seconds = (created - _EPOCH) // _SECOND
    return seconds > t or (seconds == t and created.microsecond > 0)


def check_issuer(ctx: VerificationContext) -> CheckResult:
    # run only when `integrity` and `anchor` passed (ledger.verification.verify), which set these
    assert ctx.anchor is not None and ctx.deployment is not None and ctx.proof is not None
    assert ctx.agency_id is not None and ctx.type_name is not None  # (set by `format`)
    agency, anchored_at, d = ctx.agency_id, ctx.anchor.timestamp, ctx.deployment
    names = {"agency": ctx.agency_code, "type": ctx.type_name}
    try:
        info = ctx.chain.agency_info(d, agency)
        if not info.registered:
            return invalid(NAME, "AGENCY_NOT_REGISTERED", **names)
        ctx.agency = info
        names["agencyName"] = info.name
        key = ctx.chain.key_of(d, agency, ctx.proof.public_key.raw)
        permitted = ctx.chain.is_permitted(d, agency, _type_id(ctx.type_name))
    except ChainUnavailable as exc:
        return error(NAME, "CHAIN_UNAVAILABLE", detail=str(exc))
    if not key.registered:
        return invalid(NAME, "KEY_NOT_REGISTERED", **names)
    if key.valid_from > anchored_at:
        return invalid(NAME, "KEY_NOT_YET_VALID", validFrom=iso_utc(key.valid_from), **names)
    if key.revoked_at and key.revoked_at <= anchored_at:
        return invalid(NAME, "KEY_REVOKED", revokedAt=iso_utc(key.revoked_at), **names)
    if not permitted:
        return invalid(NAME, "TYPE_NOT_PERMITTED", **names)
    created = ctx.proof.created
    if created is not None and _later_than(created, anchored_at):
        return invalid(NAME, "CREATED_AFTER_ANCHOR", **names)
    return valid(NAME, "ISSUER_AUTHORISED", **names)
