"""3. anchor — recomputed digest equals the bundle's, the path leads to the root, the root is
anchored in a trusted ledger, in the namespace of the agency the credential names (anchorOf(A, root))."""

from functools import lru_cache

from ledger.protocol.canonical import CanonicalizationError
from ledger.protocol.digest import credential_digest, to_hex32
from ledger.protocol.merkle import compute_root
from ledger.verification.chain_state import ChainUnavailable
from ledger.verification.context import VerificationContext
from ledger.verification.report import CheckResult, error, invalid, valid
from ledger.verification.timefmt import iso_utc

NAME = "anchor"

# A batch's bundles share one anchor time: format it once (strftime is costly on the hot path).
anchored_at_text = lru_cache(maxsize=1024)(iso_utc)


def check_anchor(ctx: VerificationContext) -> CheckResult:
    # run after `format` (ledger.verification.verify), which set these
    assert ctx.bundle is not None and ctx.credential is not None and ctx.agency_id is not None
    anchor = ctx.bundle.anchor
    if anchor is None:
        return invalid(NAME, "NOT_ANCHORED")
    ctx.deployment = ctx.trust.find(anchor.ledger, anchor.registry)
    if ctx.deployment is None:
        return invalid(NAME, "UNTRUSTED_DEPLOYMENT", ledger=str(anchor.ledger), registry=str(anchor.registry))
    digest = ctx.credential_digest  # made on the way by `integrity` when it could
    if digest is None:
        try:
            digest = credential_digest(ctx.credential)
        except CanonicalizationError as exc:
            return invalid(NAME, "NOT_CANONICALIZABLE", reason=str(exc))
    if digest != anchor.digest:
        return invalid(NAME, "DIGEST_MISMATCH", expected=to_hex32(anchor.digest), actual=to_hex32(digest))
    if compute_root(digest, anchor.path) != anchor.root:
        return invalid(NAME, "MERKLE_PATH_INVALID", root=to_hex32(anchor.root))
    try:
        record = ctx.chain.anchor_of(ctx.deployment, ctx.agency_id, anchor.root)
    except ChainUnavailable as exc:
        return error(NAME, "CHAIN_UNAVAILABLE", detail=str(exc))
    if not record.anchored:
        return invalid(NAME, "ROOT_NOT_ANCHORED", root=to_hex32(anchor.root), agency=ctx.agency_code)
    ctx.digest, ctx.anchor = digest, record
    return valid(NAME, "ANCHORED", anchoredAt=anchored_at_text(record.timestamp), blockNumber=record.block_number)
