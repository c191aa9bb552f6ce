"""Strict unpadded base64url (RFC 4648 §5 without ``=``), as used by the share envelope and link.

One value has one spelling: padding, characters outside the URL-safe alphabet,
whitespace and non-zero trailing bits are refused, so a decoder never accepts
two different texts for the same bytes.
"""

from __future__ import annotations

import base64
import re

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url text of ``data``."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url; raise ``ValueError`` (with a reason, never the text) when it
    is not the one canonical spelling."""
    if not isinstance(text, str):
        raise ValueError(f"expected a base64url string, not {type(text).__name__}")
    if "=" in text:
        raise ValueError("base64url must be written without '=' padding")
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url: only A-Z, a-z, 0-9, '-' and '_' are allowed")
    if len(text) % 4 == 1:
        raise ValueError("not base64url: impossible length")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(data) != text:
        raise ValueError("not canonical base64url: the unused trailing bits must be zero")
    return data


__all__ = ["b64url_decode", "b64url_encode"]
