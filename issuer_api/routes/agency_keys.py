"""An agency's signing key compromised: the report, the key revoked as of a past time, the re-issue.

The caller's agency's ``admin`` key acts for that agency (its operator sends ``revokeKey``, which
the registry allows an agency's operators, docs/protocol.md 6.5 rule 6). A key that is not one of
the caller's agency's keys on chain is 404, as another agency's credential is. The command line
does the same as governance: ``certledger agency key revoke`` and ``certledger reissue``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from http_common.openapi_problems import problem_responses as refusals
from http_common.problem import Problem
from issuer_api.deps import scope, service
from ledger.governance.api_keys import Principal
from ledger.issuance import key_compromise as kc

router = APIRouter(prefix="/agency/keys", tags=["governance and administration"])

PublicKeyPath = Path(
    pattern=r"^0x[0-9a-f]{64}$",
    description="The signing key: an Ed25519 public key, 0x + 64 lower-case hex digits.",
    examples=["0x" + "ab" * 32],
)


class RevokeRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"compromisedAt": "2026-12-07T20:00:00Z", "reason": "laptop stolen", "dryRun": True}]
        },
    )
    compromisedAt: str = Field(
        max_length=64, description="When the key was compromised (a dateTime with its zone); revoked as of then."
    )
    reason: str = Field("", max_length=500, description="Why (kept in the audit log, not on chain).")
    dryRun: bool = Field(False, description="Only report: what would become invalid, and whether it would be refused.")


class BatchCount(BaseModel):
    batch: int
    root: str | None
    anchoredAt: str | None
    count: int


class CredentialGroup(BaseModel):
    count: int
    byType: dict[str, int]
    byBatch: list[BatchCount]
    ids: list[str] | None = Field(None, description="The credential ids (not for those that stay valid).")


class CompromiseReport(BaseModel):
    agency: str
    key: str
    compromisedAt: str
    becomeInvalid: CredentialGroup = Field(description="Signed with the key, anchored at or after the time.")
    notYetAnchored: CredentialGroup = Field(description="Signed with the key, anchored later: invalid too.")
    stayValid: CredentialGroup = Field(description="Signed with the key, anchored before the time.")


class Revocation(BaseModel):
    sent: bool = Field(description="false: the chain held this revocation already (a retry)")
    txHash: str | None
    revokedAt: str


class RevokeAnswer(BaseModel):
    report: CompromiseReport
    refusal: str | None = Field(description="Why the revocation is (or would be) refused; null: it is not.")
    revocation: Revocation | None = Field(description="null for a dry run")


class Pair(BaseModel):
    old: str
    new: str


class Skipped(BaseModel):
    id: str
    why: str


class ReissueAnswer(BaseModel):
    agency: str
    key: str
    revokedAt: str
    reissued: list[Pair] = Field(description="Superseded now; their bundles and share links follow their anchor.")
    alreadyReissued: list[Pair]
    skipped: list[Skipped]


@router.post(
    "/{public_key}/revoke",
    summary="Report a key compromise, then revoke the key as of that time (the caller's agency)",
    description="Reports which credentials signed with the key become invalid (anchored at or after "
    "`compromisedAt`, or not anchored yet) and which stay valid (anchored before), then revokes the key on "
    "chain as of that time, unless `dryRun`. A retry with the same time is a success that sends nothing; "
    "another time for a revoked key, or the agency's current key (rotate it first), is refused (409).",
    responses={200: {"model": RevokeAnswer}, **refusals(400, 401, 403, 404, 409, 413, 422)},
)
def revoke(
    body: RevokeRequest,
    public_key: str = PublicKeyPath,
    who: Principal = Depends(scope("admin")),
    svc=Depends(service),
):
    try:
        at = kc.parse_time(body.compromisedAt, "compromisedAt")
    except ValueError as exc:
        raise Problem(422, "INVALID_TIME", str(exc), "The time is invalid") from None
    ctx, agency, raw = svc.ctx, who.agency_code, kc.parse_public_key(public_key)
    kc.signing_key_record(ctx, agency, raw)  # 404 before anything else
    report = kc.compromise_report(ctx, agency, raw, at).to_json()
    current = kc.current_signing_keys(ctx, agency)
    refusal = kc.revocation_refusal(ctx, agency, raw, at, current)
    if body.dryRun:
        return {"report": report, "refusal": refusal, "revocation": None}
    change = kc.revoke_key(
        ctx, kc.registry_for(ctx, agency), agency, raw, at, current_keys=current, reason=body.reason, actor=who.key_id
    )
    revocation = {"sent": bool(change.done), "txHash": next(iter(change.tx_hashes), None), "revokedAt": kc.utc_text(at)}
    return {"report": report, "refusal": None, "revocation": revocation}


@router.post(
    "/{public_key}/reissue",
    summary="Re-issue what a revoked key's compromise invalidated, with the current key (the caller's agency)",
    description="Supersedes each credential signed with the revoked key and anchored at or after its "
    "revocation time (or not anchored yet): same type, subject and validity, signed with the current key. "
    "Once the new ones are anchored the old ones are revoked with reason 3 (key compromise); each new "
    "credential's bundle and share link are at `/credentials/{id}/bundle` and `/credentials/{id}/share` then. "
    "Repeating it re-issues only those not re-issued yet. 409 before the key is revoked.",
    responses={200: {"model": ReissueAnswer}, **refusals(400, 401, 403, 404, 409, 422)},
)
def reissue(public_key: str = PublicKeyPath, who: Principal = Depends(scope("admin")), svc=Depends(service)):
    return kc.reissue(svc.ctx, who.agency_code, kc.parse_public_key(public_key), actor=who.key_id).to_json()
