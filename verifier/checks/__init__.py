"""The six checks of docs/protocol.md §10 ("Verification"), each a small function: context -> CheckResult."""
from .anchor import check_anchor
from .format import check_format
from .integrity import check_integrity
from .issuer import check_issuer
from .status import check_status
from .validity import check_validity

__all__ = ["check_format", "check_integrity", "check_anchor", "check_issuer", "check_status", "check_validity"]
