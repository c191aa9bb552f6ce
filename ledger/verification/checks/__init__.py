"""The six checks of docs/protocol.md §10 ("Verification"), each a small function: context -> CheckResult."""

from ledger.verification.checks.anchor import check_anchor
from ledger.verification.checks.format import check_format
from ledger.verification.checks.integrity import check_integrity
from ledger.verification.checks.issuer import check_issuer
from ledger.verification.checks.status import check_status
from ledger.verification.checks.validity import check_validity

__all__ = ["check_format", "check_integrity", "check_anchor", "check_issuer", "check_status", "check_validity"]
