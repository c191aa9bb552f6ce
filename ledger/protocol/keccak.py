"""Keccak-256 (the Ethereum hash, not NIST SHA3-256).

Agency and type identifiers and Merkle nodes are keccak256, as on chain. The
C implementation from safe-pysha3 is ~7x faster than pycryptodome/eth-hash,
which matters when hashing a 100,000-leaf batch; pycryptodome is the fallback.
"""

from __future__ import annotations

try:  # safe-pysha3: C keccak, the fastest available here
    from sha3 import keccak_256 as _keccak_256

    def keccak256(data: bytes) -> bytes:
        """Return the 32-byte Keccak-256 digest of ``data``."""
        digest: bytes = _keccak_256(data).digest()  # sha3 is untyped
        return digest

except ImportError:  # pragma: no cover - fallback when safe-pysha3 is absent
    from Crypto.Hash import keccak as _keccak

    def keccak256(data: bytes) -> bytes:
        """Return the 32-byte Keccak-256 digest of ``data``."""
        return _keccak.new(data=data, digest_bits=256).digest()


__all__ = ["keccak256"]
