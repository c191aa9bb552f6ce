"""Personal data encrypted at rest: signed credentials (and share keys) are stored encrypted with AES-256-GCM.

The storage key is given directly (32 bytes, e.g. from a secrets manager) or derived from the key
passphrase with scrypt. Derivation costs ~0.1 s and 32 MiB, so it runs once per process and
parameters (:func:`cipher_for_database` keeps them in the ``storage_key`` table with a random salt,
and an encrypted check value so that a wrong passphrase is reported as such rather than as corrupted
rows). Encrypting one credential then costs microseconds: bulk issuance never derives per row.

Encrypted format (bytes; the ``sealed_*`` columns hold it, named before this module was): ``b"\\x01"`` (format version) ‖ 12-byte random nonce ‖ ciphertext ‖ 16-byte tag.
The associated data binds an encrypted value to its row (the credential id): a ciphertext copied onto
another row does not open.
"""

from __future__ import annotations

import json
import os
import threading
from functools import lru_cache

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from ledger.protocol.aes_gcm import (
    KEY_BYTES,
    NONCE_BYTES,
    TAG_BYTES,
    AesGcm,
    AuthenticationFailed,
    new_nonce,
    random_chunks,
)
from ledger.storage.models import StorageKeyRecord

FORMAT_V1 = b"\x01"
NONCE_LEN = NONCE_BYTES
KEY_LEN = KEY_BYTES
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_CHECK_PLAINTEXT = b"certledger storage key check v1"
_CHECK_AAD = b"storage_key"


class AtRestError(Exception):
    """An encrypted value that cannot be decrypted: wrong key, altered data, or another row's value."""


class WrongStoragePassphrase(AtRestError):
    pass


class AtRestCipher:
    """Encrypts and decrypts values at rest with one AES-256-GCM key. Thread-safe; holds the key, never prints it."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, (bytes, bytearray)) or len(key) != KEY_LEN:
            raise ValueError(f"the storage key must be {KEY_LEN} bytes")
        self._aead = AesGcm(key)

    @classmethod
    def from_passphrase(
        cls, passphrase: str, salt: bytes, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P
    ) -> AtRestCipher:
        return cls(derive_storage_key(passphrase, salt, n, r, p))

    def encrypt(self, plaintext: bytes, associated: bytes = b"") -> bytes:
        nonce = new_nonce()
        return FORMAT_V1 + nonce + self._aead.encrypt(nonce, plaintext, associated)

    def encrypt_many(self, pairs: list[tuple[bytes, bytes]]) -> list[bytes]:
        """``encrypt(plaintext, associated)`` of each pair, the nonces drawn in one system call (which
        costs more than encrypting a short value on this machine's virtualised kernel)."""
        encrypt = self._aead.encrypt
        return [
            FORMAT_V1 + nonce + encrypt(nonce, plaintext, associated)
            for nonce, (plaintext, associated) in zip(random_chunks(len(pairs), NONCE_LEN), pairs)
        ]

    def decrypt(self, sealed: bytes, associated: bytes = b"") -> bytes:
        sealed = bytes(sealed)
        if len(sealed) < 1 + NONCE_LEN + TAG_BYTES or sealed[:1] != FORMAT_V1:
            raise AtRestError("not an encrypted value of a known format")
        try:
            return self._aead.decrypt(sealed[1 : 1 + NONCE_LEN], sealed[1 + NONCE_LEN :], associated)
        except AuthenticationFailed:
            raise AtRestError(
                "encrypted value does not decrypt: wrong storage key, altered data, or another row's value"
            ) from None

    def encrypt_json(self, value, associated: str) -> bytes:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return self.encrypt(text.encode("utf-8"), associated.encode("utf-8"))

    def decrypt_json(self, sealed: bytes, associated: str):
        return json.loads(self.decrypt(sealed, associated.encode("utf-8")))

    def __repr__(self) -> str:
        return "AtRestCipher(<key hidden>)"


@lru_cache(maxsize=8)
def _derive_cached(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=KEY_LEN, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


_derive_lock = threading.Lock()


def derive_storage_key(passphrase: str, salt: bytes, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> bytes:
    """scrypt(passphrase, salt): computed once per process for each (passphrase, salt, parameters)."""
    if not passphrase:
        raise ValueError("an empty passphrase cannot protect the storage key")
    with _derive_lock:  # two threads starting together derive once
        return _derive_cached(passphrase, bytes(salt), n, r, p)


def cipher_for_database(engine: Engine, passphrase: str, *, n: int = SCRYPT_N) -> AtRestCipher:
    """The cipher of this database's storage key, derived from ``passphrase``.

    The first call on a database chooses a random salt and records it with the scrypt parameters and
    a check value; later calls (any process) derive the same key, and a wrong passphrase raises
    :class:`WrongStoragePassphrase`.
    """
    with Session(engine) as session:
        record = session.get(StorageKeyRecord, 1)
    if record is None:
        salt = os.urandom(16)
        cipher = AtRestCipher.from_passphrase(passphrase, salt, n=n)
        record = StorageKeyRecord(
            id=1,
            salt=salt,
            scrypt_n=n,
            scrypt_r=SCRYPT_R,
            scrypt_p=SCRYPT_P,
            check_value=cipher.encrypt(_CHECK_PLAINTEXT, _CHECK_AAD),
        )
        try:
            with Session(engine) as session:
                session.add(record)
                session.commit()
            return cipher
        except IntegrityError:  # another process recorded it first: use theirs
            with Session(engine) as session:
                record = session.get(StorageKeyRecord, 1)
    assert record is not None  # recorded above, or by the process that won the race
    cipher = AtRestCipher.from_passphrase(
        passphrase, record.salt, n=record.scrypt_n, r=record.scrypt_r, p=record.scrypt_p
    )
    try:
        cipher.decrypt(record.check_value, _CHECK_AAD)
    except AtRestError:
        raise WrongStoragePassphrase(
            "the key passphrase does not open this database's storage key "
            "(CERTLEDGER_KEY_PASSPHRASE or the passphrase file differs from the one the database was created with)"
        ) from None
    return cipher


__all__ = [
    "AtRestError",
    "AtRestCipher",
    "WrongStoragePassphrase",
    "derive_storage_key",
    "cipher_for_database",
]
