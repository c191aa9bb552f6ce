"""What the checks share about one bundle: inputs, and the facts earlier checks established."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.chain.records import AgencyInfo, AnchorRecord
from ledger.protocol.bundle import Bundle
from ledger.protocol.proof import VerifiedProof
from ledger.verification.chain_state import ChainReader
from ledger.verification.trust import TrustedDeployment, TrustRoots


@dataclass
class VerificationContext:
    raw: bytes | bytearray | str | dict[str, Any]  # the bundle as given: its JSON text or already parsed
    trust: TrustRoots
    chain: ChainReader
    now: datetime
    # set by `format`
    bundle: Bundle | None = None
    credential: dict[str, Any] | None = None
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
    deployment: TrustedDeployment | None = None
    anchor: AnchorRecord | None = None
    # set by `issuer`
    agency: AgencyInfo | None = None  # the agency as the chain names it
