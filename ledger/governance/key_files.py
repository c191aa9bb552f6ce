"""Key files: secrets encrypted at rest (the key types are ``ledger.protocol.keys``).

Two kinds of secret live in key files:

* ``ed25519`` — an agency's credential signing key (:class:`SigningKey`); its
  public half is published as a did:key and registered on chain;
* ``secp256k1`` — an operator's Ethereum account key, used by the chain client
  to send anchor transactions.

A key file is JSON: the public part in clear (so tools can show which key a
file holds without the passphrase) and the secret encrypted with AES-256-GCM
under a key derived from the caller's passphrase with scrypt. The header
(kind, public part, KDF parameters) is the GCM associated data, so editing the
clear part breaks decryption instead of silently pairing a secret with a
different public key. A wrong passphrase raises :class:`WrongPassphraseError`.

File format (version 1)::

    {"type": "CertLedgerKeyFile", "version": 1, "kind": "ed25519" | "secp256k1",
     "public": "did:key:z6Mk…" | "0x<EIP-55 address>",
     "kdf": {"name": "scrypt", "n": 32768, "r": 8, "p": 1, "salt": <b64url>},
     "cipher": {"name": "aes-256-gcm", "nonce": <b64url 12 bytes>,
                "ciphertext": <b64url secret + 16-byte tag>}}
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ledger.protocol import did_key
from ledger.protocol.aes_gcm import NONCE_BYTES, AesGcm, AuthenticationFailed, new_nonce
from ledger.protocol.keccak import keccak256
from ledger.protocol.keys import PublicKey, SigningKey
from ledger.settings import LedgerEnvironment

PASSPHRASE_ENV = LedgerEnvironment.env_name("key_passphrase")
PASSPHRASE_FILE_ENV = LedgerEnvironment.env_name("key_passphrase_file")

KEY_FILE_TYPE = "CertLedgerKeyFile"
KEY_FILE_VERSION = 1
KIND_ED25519 = "ed25519"
KIND_SECP256K1 = "secp256k1"
KINDS = (KIND_ED25519, KIND_SECP256K1)

# scrypt cost: n=2**15, r=8 uses 32 MiB and ~0.1 s — interactive-grade, as for
# wallet files. Loading accepts 2**10..2**20 so a tampered file cannot ask for
# gigabytes of memory.
DEFAULT_SCRYPT_N = 2**15
_SCRYPT_N_RANGE = (2**10, 2**20)


class KeyStoreError(Exception):
    """Base class of key and key-file errors."""


class KeyFileError(KeyStoreError):
    """A key file that cannot be read: malformed, unknown version or kind."""


class WrongPassphraseError(KeyFileError):
    """The passphrase does not open this key file (or the file was altered)."""


class PassphraseMissingError(KeyStoreError):
    """No passphrase was configured for opening key files."""


# ------------------------------------------------------- secp256k1 operator keys


def _eip55(addr20: bytes) -> str:
    hexaddr = addr20.hex()
    h = keccak256(hexaddr.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if int(h[i], 16) >= 8 else c for i, c in enumerate(hexaddr))


def operator_address(secret: bytes) -> str:
    """EIP-55 checksummed Ethereum address of a secp256k1 private key."""
    import coincurve

    if len(secret) != 32:
        raise ValueError(f"a secp256k1 private key is 32 bytes, got {len(secret)}")
    try:
        pub = coincurve.PrivateKey(bytes(secret)).public_key.format(compressed=False)
    except Exception as exc:  # coincurve raises ValueError for 0 or >= n
        raise ValueError("not a valid secp256k1 private key") from exc
    return _eip55(keccak256(pub[1:])[-20:])


def generate_operator_key() -> bytes:
    """A fresh random secp256k1 private key (32 bytes, valid scalar)."""
    while True:
        secret = secrets.token_bytes(32)
        try:
            operator_address(secret)
        except ValueError:  # pragma: no cover - probability ~2**-128
            continue
        return secret


# ------------------------------------------------------------------ passphrase


def passphrase_from(environment: LedgerEnvironment) -> str:
    """The key-file passphrase from ``CERTLEDGER_KEY_PASSPHRASE`` or from the file
    named by ``CERTLEDGER_KEY_PASSPHRASE_FILE`` (one trailing newline stripped),
    as the process's environment (``ledger.settings.LedgerEnvironment``) holds them.

    Raises :class:`PassphraseMissingError` with what to set when neither is set
    or the passphrase is empty.
    """
    secret = environment.key_passphrase
    value = secret.get_secret_value() if secret is not None else None
    if value is None and environment.key_passphrase_file:
        path = environment.key_passphrase_file
        try:
            value = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise PassphraseMissingError(
                f"cannot read the passphrase file {path} named by {PASSPHRASE_FILE_ENV}: {exc.strerror or exc}"
            ) from exc
        if value.endswith("\n"):
            value = value[:-1]
            if value.endswith("\r"):
                value = value[:-1]
    if value is None:
        raise PassphraseMissingError(
            f"no key passphrase: set {PASSPHRASE_ENV}, or {PASSPHRASE_FILE_ENV} "
            "to a file containing it; private keys are stored encrypted with it"
        )
    if value == "":
        raise PassphraseMissingError(f"the key passphrase ({PASSPHRASE_ENV}) is empty")
    return value


# ------------------------------------------------------------------ key files


def _b64e(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def _b64d(s: object, field: str) -> bytes:
    if not isinstance(s, str):
        raise KeyFileError(f"key file field {field} must be a base64url string")
    try:
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"key file field {field} is not valid base64url") from exc


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    if not isinstance(passphrase, str) or passphrase == "":
        raise PassphraseMissingError("an empty passphrase cannot protect a key file")
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _aad(header: dict) -> bytes:
    from ledger.protocol.canonical import canonicalize

    return canonicalize(header)


@dataclass(frozen=True)
class KeyFile:
    """A decrypted key file: its kind, public part, and the secret bytes."""

    kind: str
    public: str
    secret: bytes

    def __repr__(self) -> str:  # never print the secret
        return f"KeyFile(kind={self.kind!r}, public={self.public!r})"


def _check_public_did(public: str) -> None:
    """The clear public part of an Ed25519 key file names an acceptable key (never a weak one)."""
    try:
        PublicKey.from_did(public)
    except (did_key.DidKeyError, ValueError) as exc:
        raise KeyFileError(f"key file field public is not an acceptable Ed25519 did:key: {exc}") from None


def _public_for(kind: str, secret: bytes) -> str:
    if kind == KIND_ED25519:
        return SigningKey.from_seed(secret).public_key.did
    if kind == KIND_SECP256K1:
        return operator_address(secret)
    raise KeyFileError(f"unknown key kind {kind!r}; expected one of {', '.join(KINDS)}")


def encrypt_key(
    kind: str,
    secret: bytes,
    passphrase: str,
    *,
    public: str | None = None,
    scrypt_n: int = DEFAULT_SCRYPT_N,
) -> dict:
    """Encrypt ``secret`` into a key-file document (a dict ready for JSON).

    ``public`` defaults to the did:key (ed25519) or address (secp256k1) derived
    from the secret; if given it must match.
    """
    derived = _public_for(kind, bytes(secret))
    if public is not None and public != derived:
        raise ValueError(f"public part {public!r} does not match the secret ({derived})")
    salt = os.urandom(16)
    header = {
        "type": KEY_FILE_TYPE,
        "version": KEY_FILE_VERSION,
        "kind": kind,
        "public": derived,
        "kdf": {"name": "scrypt", "n": scrypt_n, "r": 8, "p": 1, "salt": _b64e(salt)},
    }
    key = _derive(passphrase, salt, scrypt_n, 8, 1)
    nonce = new_nonce()
    ct = AesGcm(key).encrypt(nonce, bytes(secret), _aad(header))
    return {**header, "cipher": {"name": "aes-256-gcm", "nonce": _b64e(nonce), "ciphertext": _b64e(ct)}}


def decrypt_key(document: dict, passphrase: str, *, kind: str | None = None) -> KeyFile:
    """Decrypt a key-file document; ``kind`` (if given) must match the file's."""
    if not isinstance(document, dict):
        raise KeyFileError("a key file must be a JSON object")
    if document.get("type") != KEY_FILE_TYPE:
        raise KeyFileError(f"not a CertLedger key file (type must be {KEY_FILE_TYPE!r})")
    if document.get("version") != KEY_FILE_VERSION:
        raise KeyFileError(f"unsupported key file version {document.get('version')!r}")
    file_kind = document.get("kind")
    if file_kind not in KINDS:
        raise KeyFileError(f"unknown key kind {file_kind!r}; expected one of {', '.join(KINDS)}")
    if kind is not None and file_kind != kind:
        raise KeyFileError(f"key file holds a {file_kind} key, expected {kind}")
    kdf, cipher = document.get("kdf"), document.get("cipher")
    if not isinstance(kdf, dict) or kdf.get("name") != "scrypt":
        raise KeyFileError("key file kdf must be scrypt")
    if not isinstance(cipher, dict) or cipher.get("name") != "aes-256-gcm":
        raise KeyFileError("key file cipher must be aes-256-gcm")
    n: Any
    r: Any
    p: Any  # checked to be integers just below
    n, r, p = kdf.get("n"), kdf.get("r"), kdf.get("p")
    if not all(type(v) is int for v in (n, r, p)):
        raise KeyFileError("scrypt parameters n, r, p must be integers")
    if not (_SCRYPT_N_RANGE[0] <= n <= _SCRYPT_N_RANGE[1]) or n & (n - 1) or not (1 <= r <= 32) or not (1 <= p <= 16):
        raise KeyFileError("scrypt parameters out of the accepted range")
    salt = _b64d(kdf.get("salt"), "kdf.salt")
    nonce = _b64d(cipher.get("nonce"), "cipher.nonce")
    ct = _b64d(cipher.get("ciphertext"), "cipher.ciphertext")
    if len(nonce) != NONCE_BYTES:
        raise KeyFileError(f"cipher.nonce must be {NONCE_BYTES} bytes")
    public = document.get("public")
    if not isinstance(public, str):
        raise KeyFileError("key file field public must be a string")
    if file_kind == KIND_ED25519:
        _check_public_did(public)
    header = {k: document[k] for k in ("type", "version", "kind", "public", "kdf")}
    key = _derive(passphrase, salt, n, r, p)
    try:
        secret = AesGcm(key).decrypt(nonce, ct, _aad(header))
    except AuthenticationFailed:
        raise WrongPassphraseError("wrong passphrase for this key file (or the file was modified)") from None
    if _public_for(file_kind, secret) != public:  # pragma: no cover - AAD prevents it
        raise KeyFileError("key file public part does not match its secret")
    return KeyFile(kind=file_kind, public=public, secret=secret)


def save_key_file(
    path: str | os.PathLike,
    kind: str,
    secret: bytes,
    passphrase: str,
    *,
    public: str | None = None,
    overwrite: bool = False,
    scrypt_n: int = DEFAULT_SCRYPT_N,
) -> Path:
    """Write an encrypted key file (mode 0600, atomically); returns its path.

    Refuses to replace an existing file unless ``overwrite`` — losing a signing
    key by accident is not recoverable.
    """
    path = Path(path)
    doc = encrypt_key(kind, secret, passphrase, public=public, scrypt_n=scrypt_n)
    data = (json.dumps(doc, indent=2) + "\n").encode("utf-8")
    if path.exists() and not overwrite:
        raise FileExistsError(f"key file {path} already exists; refusing to overwrite it")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def read_key_file_public(path: str | os.PathLike) -> tuple[str, str]:
    """``(kind, public)`` from a key file, without the passphrase."""
    doc = _read_json(path)
    kind: Any
    public: Any  # as the file says (read_key_file checks them)
    kind, public = doc.get("kind"), doc.get("public")
    if kind == KIND_ED25519:
        _check_public_did(public)
    return kind, public


def _read_json(path: str | os.PathLike) -> dict:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror or exc}") from exc
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise KeyFileError(f"key file {path} is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise KeyFileError(f"key file {path} is not a JSON object")
    return doc


def load_key_file(path: str | os.PathLike, passphrase: str, *, kind: str | None = None) -> KeyFile:
    """Read and decrypt a key file. Raises :class:`WrongPassphraseError` or
    :class:`KeyFileError` (with the path) when it cannot be opened."""
    doc = _read_json(path)
    try:
        return decrypt_key(doc, passphrase, kind=kind)
    except WrongPassphraseError as exc:
        raise WrongPassphraseError(f"{path}: {exc}") from None
    except KeyFileError as exc:
        raise KeyFileError(f"{path}: {exc}") from None


def save_signing_key(path: str | os.PathLike, key: SigningKey, passphrase: str, **kw) -> Path:
    """Store an Ed25519 signing key encrypted (public did:key in clear)."""
    return save_key_file(path, KIND_ED25519, key.seed_bytes(), passphrase, **kw)


def load_signing_key(path: str | os.PathLike, passphrase: str) -> SigningKey:
    return SigningKey.from_seed(load_key_file(path, passphrase, kind=KIND_ED25519).secret)


def save_operator_key(path: str | os.PathLike, secret: bytes, passphrase: str, **kw) -> Path:
    """Store a secp256k1 operator key encrypted (its address in clear)."""
    return save_key_file(path, KIND_SECP256K1, secret, passphrase, **kw)


def load_operator_key(path: str | os.PathLike, passphrase: str) -> bytes:
    """The 32-byte secp256k1 private key (e.g. for ``eth_account.Account.from_key``)."""
    return load_key_file(path, passphrase, kind=KIND_SECP256K1).secret


__all__ = [
    "InvalidSignature",
    "KeyFile",
    "KeyFileError",
    "KeyStoreError",
    "PassphraseMissingError",
    "WrongPassphraseError",
    "generate_operator_key",
    "load_key_file",
    "load_operator_key",
    "load_signing_key",
    "decrypt_key",
    "operator_address",
    "passphrase_from",
    "read_key_file_public",
    "save_key_file",
    "save_operator_key",
    "save_signing_key",
    "encrypt_key",
]
