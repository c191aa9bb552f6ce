"""CertLedger verifier: checks a credential bundle on its own, reading only public chain state."""
from .chain_state import CachedChainReader, ChainReader, ChainUnavailable, RpcChainReader
from .report import CheckResult, Report, Status, Verdict
from .trust import TrustedDeployment, TrustRoots
from .verify import verify

__all__ = [
    "verify", "Report", "CheckResult", "Status", "Verdict", "TrustRoots", "TrustedDeployment",
    "ChainReader", "RpcChainReader", "CachedChainReader", "ChainUnavailable",
]
