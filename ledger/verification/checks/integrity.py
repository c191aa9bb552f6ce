"""2. integrity — the eddsa-jcs-2022 proof verifies under the did:key."""

from ledger.protocol.proof import ProofVerificationError, verify_proof_and_digest
from ledger.verification.context import VerificationContext
from ledger.verification.report import CheckResult, invalid, valid

NAME = "integrity"


def check_integrity(ctx: VerificationContext) -> CheckResult:
    assert ctx.credential is not None  # run after `format` (ledger.verification.verify), which set it
    try:
        ctx.proof, ctx.credential_digest = verify_proof_and_digest(ctx.credential, plain_json=ctx.plain_json)
    except ProofVerificationError as exc:
        return invalid(NAME, exc.code, reason=exc.reason)
    return valid(NAME, "SIGNATURE_VALID", key=ctx.proof.public_key.did)
