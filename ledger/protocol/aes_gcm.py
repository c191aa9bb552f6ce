"""AES-256-GCM, the one cipher of CertLedger's three encrypted formats, each framed by its own
module (which keeps its bytes exactly as documented there):

* values encrypted at rest in the database (``ledger.storage.at_rest``): version byte, nonce,
  ciphertext and tag in one blob, bound to their row by the associated data;
* key files (``ledger.governance.key_files``): nonce and ciphertext in JSON, the clear header as
  associated data;
* shares (``ledger.content.share``, docs/protocol.md §9): nonce (``iv``) and ciphertext in a JSON
  envelope, no associated data.

Here: the key check, fresh nonces (many drawn in one system call) and encryption and
authenticated decryption, whose failure is one exception, :class:`AuthenticationFailed`.
Ciphertexts are ``AESGCM.encrypt``'s: the ciphertext followed by the 16-byte tag.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96 bits, as GCM is meant to be used
TAG_BYTES = 16


class AuthenticationFailed(Exception):
    """The ciphertext does not decrypt: wrong key, or altered nonce, ciphertext or associated data."""


class AesGcm:
    """One AES-256-GCM key, made once and used for many values. Never prints the key."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes | bytearray) -> None:
        if not isinstance(key, (bytes, bytearray)) or len(key) != KEY_BYTES:
            raise ValueError(f"an AES-256-GCM key is {KEY_BYTES} bytes")
        self._aead = AESGCM(bytes(key))

    def encrypt(self, nonce: bytes, plaintext: bytes, associated: bytes | None = None) -> bytes:
        """The ciphertext and its tag."""
        return self._aead.encrypt(nonce, plaintext, associated)

    def decrypt(self, nonce: bytes, ciphertext: bytes, associated: bytes | None = None) -> bytes:
        """The plaintext, once authenticated; else :class:`AuthenticationFailed`."""
        try:
            return self._aead.decrypt(nonce, ciphertext, associated)
        except InvalidTag:
            raise AuthenticationFailed("AES-GCM authentication failed") from None

    def __repr__(self) -> str:
        return "AesGcm(<key hidden>)"


def new_nonce() -> bytes:
    return os.urandom(NONCE_BYTES)


def random_chunks(count: int, size: int) -> list[bytes]:
    """``count`` random byte strings of ``size`` bytes, drawn in one system call (which costs more
    than encrypting a short value on a virtualised kernel)."""
    data = os.urandom(size * count)
    return [data[i * size : (i + 1) * size] for i in range(count)]


__all__ = [
    "KEY_BYTES",
    "NONCE_BYTES",
    "TAG_BYTES",
    "AesGcm",
    "AuthenticationFailed",
    "new_nonce",
    "random_chunks",
]
