"""Credential digest and the ``0x``-hex form of 32-byte values.

``digest = SHA-256(JCS(credential including its proof))`` (docs/protocol.md §5.1) is what
a Merkle leaf commits to and what the ledger's revocation status is keyed by.

On the wire (bundles, CLI, JSON reports) 32-byte values are written
``"0x" + 64 lowercase hex digits``. Parsing accepts exactly that form and
nothing else — no uppercase, no missing prefix — so one value has one
spelling and string comparison is value comparison.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from ledger.protocol.canonical import canonicalize

_HEX32 = re.compile(r"0x[0-9a-f]{64}")


def credential_digest(credential: Mapping[str, Any]) -> bytes:
    """SHA-256 of the RFC 8785 form of the whole credential (proof included): 32 bytes."""
    return hashlib.sha256(canonicalize(credential)).digest()


def to_hex32(value: bytes) -> str:
    """``"0x"`` + 64 lowercase hex digits of a 32-byte value."""
    if len(value) != 32:
        raise ValueError(f"expected 32 bytes, got {len(value)}")
    return "0x" + value.hex()


def is_hex32(text: object) -> bool:
    return isinstance(text, str) and _HEX32.fullmatch(text) is not None


def from_hex32(text: str) -> bytes:
    """Parse ``"0x"`` + 64 lowercase hex digits; ``ValueError`` otherwise."""
    if not is_hex32(text):
        raise ValueError('expected "0x" followed by 64 lowercase hex digits')
    return bytes.fromhex(text[2:])


def credential_digest_hex(credential: Mapping[str, Any]) -> str:
    return to_hex32(credential_digest(credential))


__all__ = ["credential_digest", "credential_digest_hex", "from_hex32", "is_hex32", "to_hex32"]
