"""1. format — bundle and credential well-formed (v2 fields, I-JSON numbers, no duplicate keys, dates
parse); the proof's verification method is the issuer's key."""

from functools import lru_cache

from ledger.protocol.bundle import BundleFormatError, bundle_from_json, parse_bundle_plain
from ledger.protocol.credential import check_credential
from ledger.protocol.errors import ValidationError
from ledger.protocol.identifiers import agency_id
from ledger.verification.context import VerificationContext
from ledger.verification.report import CheckResult, invalid, valid

NAME = "format"

_agency_id = lru_cache(maxsize=4096)(agency_id)  # keccak256 of the same few codes, bundle after bundle


def check_format(ctx: VerificationContext) -> CheckResult:
    try:
        if isinstance(ctx.raw, dict):
            ctx.bundle = bundle_from_json(ctx.raw)
        else:
            ctx.bundle, ctx.plain_json = parse_bundle_plain(ctx.raw)
    except BundleFormatError as exc:
        return invalid(NAME, exc.code, field=exc.field, reason=exc.reason)
    ctx.credential = ctx.bundle.credential
    try:
        # plain JSON (no float, no long integer) cannot hold a number that is not I-JSON
        view = check_credential(ctx.credential, numbers_checked=ctx.plain_json)
    except ValidationError as exc:
        first = exc.errors[0]
        return invalid(NAME, "CREDENTIAL_MALFORMED", field=f"credential.{first.field}", reason=first.reason)
    ctx.agency_code, ctx.agency_id, ctx.type_name = view.agency_code, _agency_id(view.agency_code), view.type_name
    ctx.valid_from, ctx.valid_until = view.valid_from, view.valid_until
    return valid(NAME, "FORMAT_OK")
