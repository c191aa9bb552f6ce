"""4. issuer — in the namespace of the agency A the credential names: A is registered; the signing key
K was registered for A and in force at the anchor time t (validFrom <= t, and not revoked as of t or
earlier); A may issue the type; the proof's `created` is not after t. Reports the agency's on-chain
name."""
from functools import lru_cache

from ledger.identifiers import type_id

from ..chain_state import ChainUnavailable
from ..context import VerificationContext
from ..report import CheckResult, error, invalid, valid
from ..timefmt import iso_utc

NAME = "issuer"

_type_id = lru_cache(maxsize=4096)(type_id)  # keccak256 of the same few type names, bundle after bundle


def check_issuer(ctx: VerificationContext) -> CheckResult:
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
    if created is not None and created.timestamp() > anchored_at:
        return invalid(NAME, "CREATED_AFTER_ANCHOR", **names)
    return valid(NAME, "ISSUER_AUTHORISED", **names)
