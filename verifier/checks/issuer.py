"""4. issuer — at the anchor time the signing key belonged to the issuing agency and was not revoked;
the agency may issue this type; the proof's `created` is not after the anchor time."""
from functools import lru_cache

from ledger.identifiers import agency_id, type_id

from ..chain_state import ChainUnavailable
from ..context import VerificationContext
from ..report import CheckResult, error, invalid, valid
from ..timefmt import iso_utc

NAME = "issuer"

# keccak256 of the same few agency codes and type names, bundle after bundle: keep them.
_agency_id = lru_cache(maxsize=4096)(agency_id)
_type_id = lru_cache(maxsize=4096)(type_id)


def check_issuer(ctx: VerificationContext) -> CheckResult:
    agency, anchored_at = _agency_id(ctx.agency_code), ctx.anchor.timestamp
    names = {"agency": ctx.agency_code, "type": ctx.type_name}
    if ctx.anchor.agency_id != agency:
        return invalid(NAME, "ANCHORED_BY_OTHER_AGENCY", **names)
    try:
        key = ctx.chain.key_of(ctx.deployment, ctx.proof.public_key.raw)
        permitted = ctx.chain.is_permitted(ctx.deployment, agency, _type_id(ctx.type_name))
    except ChainUnavailable as exc:
        return error(NAME, "CHAIN_UNAVAILABLE", detail=str(exc))
    if not key.registered:
        return invalid(NAME, "KEY_NOT_REGISTERED", **names)
    if key.agency_id != agency:
        return invalid(NAME, "KEY_OF_OTHER_AGENCY", **names)
    if key.valid_from > anchored_at:
        return invalid(NAME, "KEY_NOT_YET_VALID", **names)
    if key.revoked_at and key.revoked_at <= anchored_at:
        return invalid(NAME, "KEY_REVOKED", revokedAt=iso_utc(key.revoked_at), **names)
    if not permitted:
        return invalid(NAME, "TYPE_NOT_PERMITTED", **names)
    created = ctx.proof.created
    if created is not None and created.timestamp() > anchored_at:
        return invalid(NAME, "CREATED_AFTER_ANCHOR", **names)
    return valid(NAME, "ISSUER_AUTHORISED", **names)
