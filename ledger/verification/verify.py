"""verify(bundle, trust roots, chain reader, now) -> Report: the six checks, in one place."""

from __future__ import annotations

from datetime import UTC, datetime

from ledger.verification.chain_state import ChainReader
from ledger.verification.checks import (
    check_anchor,
    check_format,
    check_integrity,
    check_issuer,
    check_status,
    check_validity,
)
from ledger.verification.checks.anchor import anchored_at_text
from ledger.verification.context import VerificationContext
from ledger.verification.report import CHECK_NAMES, Report, Status, error, skipped
from ledger.verification.trust import TrustRoots


def verify(bundle, trust: TrustRoots, chain: ChainReader, now: datetime | None = None) -> Report:
    """Verify a bundle (bytes, str or parsed JSON). Never raises for bad input: the report says why."""
    ctx = VerificationContext(raw=bundle, trust=trust, chain=chain, now=now or datetime.now(UTC))
    fmt = _run(check_format, ctx)
    if fmt.status is not Status.VALID:
        return Report([fmt] + [skipped(name, "format") for name in CHECK_NAMES[1:]], {})
    integrity = _run(check_integrity, ctx)
    anchor = _run(check_anchor, ctx)
    anchored = anchor.status is Status.VALID
    if not anchored:
        issuer = skipped("issuer", "anchor")
    elif integrity.status is not Status.VALID:
        issuer = skipped("issuer", "integrity")
    else:
        issuer = _run(check_issuer, ctx)
    status = _run(check_status, ctx) if anchored else skipped("status", "anchor")
    checks = [fmt, integrity, anchor, issuer, status, _run(check_validity, ctx)]
    return Report(checks, _summary(ctx))


def _run(check, ctx: VerificationContext):
    """A check that breaks unexpectedly reports ERROR (fail closed), never a pass and never a crash."""
    try:
        return check(ctx)
    except Exception as exc:  # noqa: BLE001 - deliberately total: the report must always come back
        name = check.__module__.rsplit(".", 1)[-1]
        return error(name, "INTERNAL_ERROR", detail=f"{type(exc).__name__}: {exc}")


def _summary(ctx: VerificationContext) -> dict:
    """The credential as the report names it: the issuer's key and display name as the credential
    says, and the agency by its code and its name as the chain records it (None until read)."""
    assert ctx.credential is not None  # called once `format` passed, which set it
    issuer = ctx.credential.get("issuer", {})
    return {
        "id": ctx.credential.get("id"),
        "type": ctx.type_name,
        "issuer": {
            "id": issuer.get("id"),
            "name": issuer.get("name"),
            "agency": {"code": ctx.agency_code, "name": ctx.agency.name if ctx.agency else None},
        },
        "anchoredAt": anchored_at_text(ctx.anchor.timestamp) if ctx.anchor else None,
    }
