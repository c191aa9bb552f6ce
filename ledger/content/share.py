"""The encrypted share: what the content store holds for a bundle (docs/protocol.md §9.1).

The bundle's UTF-8 JSON is encrypted with AES-256-GCM under a fresh random
256-bit key and a fresh random 96-bit nonce; the stored object is the JSON
envelope::

    {"v":1,"alg":"A256GCM","iv":"<base64url>","ct":"<base64url>"}

Wire conventions (what another implementation needs to read and write it):

* The envelope is written exactly as above: members in the order
  ``v, alg, iv, ct``, compact separators (no spaces), no trailing newline,
  ASCII only. ``v`` is the JSON integer ``1``; ``alg`` is ``"A256GCM"``.
* ``iv`` and ``ct`` are base64url **without padding** (RFC 4648 §5).
  ``iv`` decodes to exactly 12 bytes. ``ct`` is the GCM output: the ciphertext
  followed by the 16-byte authentication tag (as ``AESGCM.encrypt`` and
  WebCrypto return it). There is no additional authenticated data.
* The key is 32 raw bytes; in a share link it is base64url without padding
  (43 characters).

Reading is strict about content and lenient about layout: the members may come
in any order and with JSON whitespace, but a duplicate or unknown member, a
member of the wrong type, padded or non-canonical base64url, an ``iv`` that is
not 12 bytes, another ``v`` or ``alg`` are each refused with the member named.
The decrypted plaintext must be UTF-8.

AES-GCM cannot tell a wrong key from an altered ciphertext (both fail the
tag check); :class:`ShareDecryptionError` says so rather than guessing.
"""

from __future__ import annotations

import binascii
import json
import os

from ledger.content.encoding import b64url_decode
from ledger.protocol import aes_gcm
from ledger.protocol.aes_gcm import AesGcm, AuthenticationFailed
from ledger.protocol.utf8 import ByteOrderMarkError, NotUtf8Error, decode_utf8

VERSION = 1
ALG = "A256GCM"
KEY_BYTES = aes_gcm.KEY_BYTES
IV_BYTES = aes_gcm.NONCE_BYTES
TAG_BYTES = aes_gcm.TAG_BYTES

MAX_PLAINTEXT_BYTES = 1_048_576
"""Largest bundle (its UTF-8 JSON) a share may carry: 1 MiB, far above a real bundle."""

MAX_SHARE_BYTES = 64 + 4 * ((MAX_PLAINTEXT_BYTES + TAG_BYTES + 2) // 3)
"""Largest envelope a reader parses (the envelope of a :data:`MAX_PLAINTEXT_BYTES` bundle);
anything larger is refused before it is parsed."""

_FIELDS = ("v", "alg", "iv", "ct")
_ENVELOPE_HEAD = f'{{"v":{VERSION},"alg":"{ALG}","iv":"'.encode("ascii")
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64url(data: bytes) -> bytes:
    """Unpadded base64url, as bytes (``b64url_encode`` without the round trip through text)."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


class ShareError(ValueError):
    """A share that cannot be created or opened."""


class ShareFormatError(ShareError):
    """The envelope is malformed; ``field`` names the member at fault (``""`` for the whole)."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"encrypted share: {field}: {reason}" if field else f"encrypted share: {reason}")


class ShareUnsupportedError(ShareFormatError):
    """A well-formed envelope of another version or algorithm than this implementation reads."""


class ShareDecryptionError(ShareError):
    """Authentication failed: the key is wrong or the ciphertext (or iv) was altered."""


class ShareKeyError(ShareError):
    """A key that is not 32 bytes."""


class ShareTooLargeError(ShareError):
    """A bundle or an envelope over the size limits."""


def _check_key(key: object) -> bytes:
    if not isinstance(key, (bytes, bytearray, memoryview)):
        raise ShareKeyError(f"the share key must be bytes, not {type(key).__name__}")
    key = bytes(key)
    if len(key) != KEY_BYTES:
        raise ShareKeyError(f"the share key must be {KEY_BYTES} bytes (AES-256), got {len(key)}")
    return key


def encrypt_share(bundle_bytes: bytes) -> tuple[bytes, bytes]:
    """Encrypt a bundle's UTF-8 JSON; return ``(envelope bytes, key)``.

    The key (32 random bytes) and the nonce are fresh for every call, so two
    shares of the same bundle differ (and so do their CIDs). Keep the key out
    of logs: it is the only thing protecting the citizen's data.
    """
    return encrypt_shares([bundle_bytes])[0]


def encrypt_shares(bundles: list[bytes]) -> list[tuple[bytes, bytes]]:
    """:func:`encrypt_share` of each bundle, the random keys and nonces drawn in one system call
    (which costs more than the encryption of a bundle on this machine's virtualised kernel)."""
    plaintexts = [_check_bundle(b) for b in bundles]
    secrets = os.urandom((KEY_BYTES + IV_BYTES) * len(plaintexts))
    out = []
    at = 0
    for plaintext in plaintexts:
        key, iv = secrets[at : at + KEY_BYTES], secrets[at + KEY_BYTES : at + KEY_BYTES + IV_BYTES]
        at += KEY_BYTES + IV_BYTES
        ct = AesGcm(key).encrypt(iv, plaintext)
        # The envelope exactly as documented above (what json.dumps with compact separators
        # writes), assembled as bytes: formatting text and encoding it again cost more than AES.
        out.append((b"".join((_ENVELOPE_HEAD, _b64url(iv), b'","ct":"', _b64url(ct), b'"}')), key))
    return out


def _check_bundle(bundle_bytes: object) -> bytes:
    if not isinstance(bundle_bytes, (bytes, bytearray, memoryview)):
        raise ShareError(f"the bundle must be bytes (its UTF-8 JSON), not {type(bundle_bytes).__name__}")
    plaintext = bundle_bytes if type(bundle_bytes) is bytes else bytes(bundle_bytes)
    if not plaintext:
        raise ShareError("the bundle is empty")
    if len(plaintext) > MAX_PLAINTEXT_BYTES:
        raise ShareTooLargeError(
            f"the bundle is {len(plaintext):,} bytes; a share carries at most {MAX_PLAINTEXT_BYTES:,}"
        )
    try:
        plaintext.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ShareError(f"the bundle is not UTF-8 (byte {exc.start})") from None
    return plaintext


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    out: dict = {}
    for name, value in pairs:
        if name in out:
            raise ShareFormatError(name, "appears more than once")
        out[name] = value
    return out


def _no_constants(name: str) -> object:
    raise ShareFormatError("", f"{name} is not allowed in JSON")


def parse_envelope(blob: bytes) -> tuple[bytes, bytes]:
    """Check an envelope and return ``(iv, ct)``; raise :class:`ShareFormatError` naming the
    member at fault (or :class:`ShareUnsupportedError` for another ``v``/``alg``)."""
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise ShareFormatError("", f"the share must be bytes, not {type(blob).__name__}")
    blob = bytes(blob)
    if len(blob) > MAX_SHARE_BYTES:
        raise ShareTooLargeError(f"the share is {len(blob):,} bytes; at most {MAX_SHARE_BYTES:,} are read")
    try:
        text = decode_utf8(blob, bom="refuse")
    except NotUtf8Error:
        raise ShareFormatError("", "not UTF-8 JSON") from None
    except ByteOrderMarkError:
        raise ShareFormatError("", "a byte-order mark is not allowed") from None
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except ShareFormatError:
        raise
    except (ValueError, RecursionError) as exc:
        raise ShareFormatError("", f"not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ShareFormatError("", f"expected a JSON object, got {type(doc).__name__}")
    unknown = sorted(set(doc) - set(_FIELDS))
    if unknown:
        raise ShareFormatError(unknown[0], "unknown member")
    for name in _FIELDS:
        if name not in doc:
            raise ShareFormatError(name, "missing")

    v = doc["v"]
    if type(v) is not int:
        raise ShareFormatError("v", f"must be the integer {VERSION}, got {json.dumps(v)}")
    if v != VERSION:
        raise ShareUnsupportedError("v", f"version {v} is not supported (this reader knows {VERSION})")
    alg = doc["alg"]
    if not isinstance(alg, str):
        raise ShareFormatError("alg", f"must be a string, got {json.dumps(alg)}")
    if alg != ALG:
        raise ShareUnsupportedError("alg", f"algorithm {alg[:32]!r} is not supported (this reader knows {ALG})")

    decoded = {}
    for name in ("iv", "ct"):
        value = doc[name]
        if not isinstance(value, str):
            raise ShareFormatError(name, "must be a base64url string")
        try:
            decoded[name] = b64url_decode(value)
        except ValueError as exc:
            raise ShareFormatError(name, str(exc)) from None
    if len(decoded["iv"]) != IV_BYTES:
        raise ShareFormatError("iv", f"must be {IV_BYTES} bytes, got {len(decoded['iv'])}")
    if len(decoded["ct"]) < TAG_BYTES:
        raise ShareFormatError("ct", f"shorter than the {TAG_BYTES}-byte authentication tag")
    if len(decoded["ct"]) > MAX_PLAINTEXT_BYTES + TAG_BYTES:
        raise ShareTooLargeError(f"ct: the ciphertext exceeds {MAX_PLAINTEXT_BYTES:,} bytes")
    return decoded["iv"], decoded["ct"]


def decrypt_share(blob: bytes, key: bytes) -> bytes:
    """Open an envelope made by :func:`encrypt_share` (or any conforming writer); return the
    bundle's UTF-8 JSON bytes.

    Raises :class:`ShareKeyError` (not 32 bytes), :class:`ShareFormatError` /
    :class:`ShareUnsupportedError` (envelope, member named),
    :class:`ShareTooLargeError`, :class:`ShareDecryptionError` (wrong key, or
    altered ``iv``/``ct``). The plaintext is only returned once authenticated.
    """
    key = _check_key(key)
    iv, ct = parse_envelope(blob)
    try:
        plaintext = AesGcm(key).decrypt(iv, ct)
    except AuthenticationFailed:
        raise ShareDecryptionError(
            "the share could not be decrypted: the key is wrong or the share was altered "
            "(AES-GCM authentication failed)"
        ) from None
    try:
        plaintext.decode("utf-8")
    except UnicodeDecodeError:
        raise ShareFormatError("ct", "the decrypted content is not UTF-8") from None
    return plaintext


__all__ = [
    "ALG",
    "IV_BYTES",
    "KEY_BYTES",
    "MAX_PLAINTEXT_BYTES",
    "MAX_SHARE_BYTES",
    "TAG_BYTES",
    "VERSION",
    "ShareDecryptionError",
    "ShareError",
    "ShareFormatError",
    "ShareKeyError",
    "ShareTooLargeError",
    "ShareUnsupportedError",
    "decrypt_share",
    "encrypt_share",
    "encrypt_shares",
    "parse_envelope",
]
