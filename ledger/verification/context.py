"""What the checks share about one bundle: inputs, and the facts earlier checks established."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.chain.records import AgencyInfo, AnchorRecord
from ledger.protocol.deployment import Deployment
from ledger.protocol.proof import VerifiedProof
from ledger.verification.chain_state import ChainReader
from ledger.verification.trust import TrustRoots


@dataclass
class VerificationContext:
    raw: object  # bytes, str or an already-parsed dict
    trust: TrustRoots
    chain: ChainReader
    now: datetime
    # set by `format`
    bundle: object | None = None  # ledger.protocol.bundle.Bundle
    credential: dict | None = None
    agency_code: str | None = None  # from credential.issuer.agency: the namespace every chain read uses
    agency_id: bytes | None = None  # keccak256(agency_code)
    type_name: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    plain_json: bool = False  # the bundle JSON was plain (ledger.protocol.bundle.parse_bundle_plain)
    # set by `integrity`
    proof: VerifiedProof | None = None
    credential_digest: bytes | None = None  # SHA-256(JCS(credential)) when integrity had it at hand
    # set by `anchor`
    digest: bytes | None = None
    deployment: Deployment | None = None
    anchor: AnchorRecord | None = None
    # set by `issuer`
    agency: AgencyInfo | None = None  # the agency as the chain names it
