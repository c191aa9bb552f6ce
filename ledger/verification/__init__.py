"""Verification as a library: checks a credential bundle on its own, reading only public chain state
(docs/protocol.md §10)."""

from ledger.verification.chain_state import CachedChainReader, ChainReader, ChainUnavailable, RpcChainReader
from ledger.verification.report import CheckResult, Report, Status, Verdict
from ledger.verification.trust import TrustRoots
from ledger.verification.verify import verify

__all__ = [
    "verify",
    "Report",
    "CheckResult",
    "Status",
    "Verdict",
    "TrustRoots",
    "ChainReader",
    "RpcChainReader",
    "CachedChainReader",
    "ChainUnavailable",
]
