"""Ed25519 keys as types: a public key that refuses weak keys, and a signing key.

Key files (the secrets encrypted at rest) are ``ledger.governance.key_files``."""

from __future__ import annotations

import secrets
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
from nacl.exceptions import BadSignatureError

from ledger.protocol import did_key
from ledger.protocol.ed25519_checks import weak_key_reason


class WeakKeyError(ValueError):
    """32 bytes that are not an acceptable Ed25519 public key (``ledger.protocol.ed25519_checks``)."""


class PublicKey:
    """An Ed25519 public key (32 bytes), as named by a did:key. Constructing one refuses weak keys
    (small order, non-canonical, off the curve) with :class:`WeakKeyError`: every key CertLedger reads
    — registration, key files, verification — becomes one of these first.

    Ed25519 goes through libsodium (PyNaCl), signing and verifying: 62 us per verification here
    against 120 us through ``cryptography``'s OpenSSL (``bench/bench_verify.py`` prints both), which
    is most of what a bundle's verification costs. libsodium's check is RFC 8032's cofactorless one
    with a canonical S < L, like OpenSSL's, and it also refuses a signature whose R is a point of
    small order (docs/protocol.md §4.6); a test compares the two libraries' verdicts."""

    __slots__ = ("_raw", "_multibase")

    def __init__(self, raw: bytes) -> None:
        raw = bytes(raw)
        if len(raw) != 32:
            raise ValueError(f"an Ed25519 public key is 32 bytes, got {len(raw)}")
        weak = weak_key_reason(raw)
        if weak is not None:
            raise WeakKeyError(f"not an acceptable Ed25519 public key: {weak}")
        self._raw = raw
        self._multibase: str | None = None  # encoded on first use, then kept (keys are immutable)

    @classmethod
    def from_did(cls, did: str) -> PublicKey:
        return cls(did_key.public_key_from_did(did))

    @classmethod
    def from_multibase(cls, multibase: str) -> PublicKey:
        return cls(did_key.decode_public_key(multibase))

    @classmethod
    def from_verification_method(cls, vm: str) -> PublicKey:
        """The key of ``did:key:<mb>#<mb>`` (cached: keys are immutable)."""
        if not isinstance(vm, str):
            raise did_key.DidKeyError("verificationMethod must be a string")
        return _public_key_from_vm(vm)

    @property
    def raw(self) -> bytes:
        """The 32 key bytes (what the registry stores as ``bytes32``)."""
        return self._raw

    @property
    def multibase(self) -> str:
        mb = self._multibase
        if mb is None:
            mb = self._multibase = did_key.encode_public_key(self._raw)
        return mb

    @property
    def did(self) -> str:
        return did_key.DID_KEY_PREFIX + self.multibase

    @property
    def verification_method(self) -> str:
        mb = self.multibase
        return f"{did_key.DID_KEY_PREFIX}{mb}#{mb}"

    def verify(self, signature: bytes, message: bytes) -> None:
        """Raise ``cryptography.exceptions.InvalidSignature`` unless valid."""
        if len(signature) != 64:
            raise InvalidSignature("an Ed25519 signature is 64 bytes")
        try:
            crypto_sign_open(bytes(signature) + bytes(message), self._raw)  # a signed message is signature || message
        except BadSignatureError:
            raise InvalidSignature("the signature does not verify") from None

    def is_valid_signature(self, signature: bytes, message: bytes) -> bool:
        try:
            self.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and other._raw == self._raw

    def __hash__(self) -> int:
        return hash(self._raw)

    def __repr__(self) -> str:
        return f"PublicKey({self.did})"


@lru_cache(maxsize=4096)
def _public_key_from_vm(vm: str) -> PublicKey:
    return PublicKey(did_key.public_key_from_verification_method(vm))


class SigningKey:
    """An Ed25519 private key; the secret never appears in ``repr`` or ``str``.

    Signing goes through libsodium (PyNaCl), as verifying does (:class:`PublicKey`): 23 us per
    signature here against 37 us through OpenSSL, and bulk issuance signs once per credential.
    Ed25519 signatures are deterministic (RFC 8032), so both give the same bytes (tested)."""

    __slots__ = ("_seed", "_public", "_sodium_secret")

    def __init__(self, seed: bytes) -> None:
        seed = bytes(seed)
        if len(seed) != 32:
            raise ValueError(f"an Ed25519 private key seed is 32 bytes, got {len(seed)}")
        public, self._sodium_secret = crypto_sign_seed_keypair(seed)  # libsodium's secret: seed || public
        self._seed = seed
        self._public = PublicKey(public)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(secrets.token_bytes(32))

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        """From the 32-byte RFC 8032 private key (seed)."""
        return cls(seed)

    @property
    def public_key(self) -> PublicKey:
        return self._public

    def sign(self, message: bytes) -> bytes:
        """Pure Ed25519 signature (64 bytes)."""
        return crypto_sign(message, self._sodium_secret)[:64]  # signed message: signature || message

    def seed_bytes(self) -> bytes:
        """The 32-byte secret; only for encrypting it into a key file."""
        return self._seed

    def __repr__(self) -> str:
        return f"SigningKey(public={self._public.did})"

    __str__ = __repr__
