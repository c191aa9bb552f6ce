"""1. format — bundle and credential well-formed; dates parse; required fields present."""
from ledger.bundle import BundleFormatError, bundle_from_json, parse_bundle_plain
from ledger.credential import check_credential
from ledger.errors import ValidationError

from ..context import VerificationContext
from ..report import CheckResult, invalid, valid

NAME = "format"


def check_format(ctx: VerificationContext) -> CheckResult:
    try:
        if isinstance(ctx.raw, dict):
            ctx.bundle = bundle_from_json(ctx.raw)
        else:
            ctx.bundle, ctx.plain_json = parse_bundle_plain(ctx.raw)
    except BundleFormatError as exc:
        return invalid(NAME, "BUNDLE_MALFORMED", field=exc.field, reason=exc.reason)
    ctx.credential = ctx.bundle.credential
    try:
        view = check_credential(ctx.credential)
    except ValidationError as exc:
        first = exc.errors[0]
        return invalid(NAME, "CREDENTIAL_MALFORMED", field=f"credential.{first.field}", reason=first.reason)
    ctx.agency_code, ctx.type_name = view.agency_code, view.type_name
    ctx.valid_from, ctx.valid_until = view.valid_from, view.valid_until
    return valid(NAME, "FORMAT_OK")
