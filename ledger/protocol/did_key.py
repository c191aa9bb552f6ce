"""did:key for Ed25519 public keys (W3C did:key method, Multikey encoding).

A signing key is named ``did:key:z6Mk…``: multibase base58btc (prefix ``z``) of
the multicodec header ``0xed01`` followed by the 32 raw key bytes. Decoding is
strict — any other multibase prefix, multicodec header, length, or a character
outside the base58 alphabet is refused — because a verifier turns this string
into the key it trusts. Base58 is implemented here (chunked, ~5x faster than the
``base58`` package, which the tests use as the oracle): verification decodes a
64-byte proofValue per credential.
"""

from __future__ import annotations

from functools import lru_cache

ED25519_PUB_HEADER = b"\xed\x01"
DID_KEY_PREFIX = "did:key:"
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}
_CHUNK = 10  # 58**10 < 2**64: convert ten digits at a time with small ints
_B58_CHUNK = 58**_CHUNK
_PAIR, _PAIR4 = 58**2, 58**4
_B58_PAIRS = [a + b for a in _B58 for b in _B58]  # value < 58**2 -> its two digits
_B58_DIGITS = bytes(_B58_INDEX.get(chr(b), 0xFF) for b in range(256))  # byte -> digit value


class DidKeyError(ValueError):
    """A did:key, multibase key or verification method that is not a valid Ed25519 key."""


def b58encode(data: bytes) -> str:
    """Base58 (Bitcoin alphabet); each leading zero byte becomes ``'1'``."""
    n = int.from_bytes(data, "big")
    out: list[str] = []
    while n:
        n, chunk = divmod(n, _B58_CHUNK)
        # the chunk's ten digits as five pairs, lowest first (a table lookup per pair: ~40% faster)
        high, low = divmod(chunk, _PAIR4)
        a, b = divmod(low, _PAIR)
        high, c = divmod(high, _PAIR)
        d, e = divmod(high, _PAIR)
        out += (_B58_PAIRS[b], _B58_PAIRS[a], _B58_PAIRS[c], _B58_PAIRS[e], _B58_PAIRS[d])
    body = "".join(reversed(out)).lstrip("1")
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + body


def b58decode(text: str) -> bytes:
    """Inverse of :func:`b58encode`; ``DidKeyError`` on a character outside the alphabet.

    Base58 with the leading-``'1'`` rule is a bijection, so there is no
    non-canonical spelling to reject beyond foreign characters.
    """
    if not isinstance(text, str):
        raise DidKeyError("is not a string")
    try:  # the digit values in one C call (0xff: not in the alphabet)
        digits = str.__str__(text).encode("ascii").translate(_B58_DIGITS)
    except UnicodeEncodeError:
        digits = b"\xff"
    if b"\xff" in digits:
        raise DidKeyError("contains characters outside the base58btc alphabet")
    n = 0
    for d in digits:
        n = n * 58 + d
    pad = len(digits) - len(digits.lstrip(b"\x00"))
    return b"\0" * pad + (n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b"")


def b58btc_encode(data: bytes) -> str:
    """Multibase base58btc: ``'z'`` + base58 (Bitcoin alphabet)."""
    return "z" + b58encode(data)


def b58btc_decode(value: str) -> bytes:
    """Decode a multibase base58btc string strictly (prefix ``z``, base58 alphabet only)."""
    if not isinstance(value, str) or len(value) < 2 or value[0] != "z":
        raise DidKeyError("not a base58btc multibase value (must start with 'z')")
    return b58decode(value[1:])


def encode_public_key(raw: bytes) -> str:
    """Multikey ``publicKeyMultibase`` (``z6Mk…``) of a 32-byte Ed25519 public key."""
    if len(raw) != 32:
        raise DidKeyError(f"an Ed25519 public key is 32 bytes, got {len(raw)}")
    return b58btc_encode(ED25519_PUB_HEADER + bytes(raw))


def decode_public_key(multibase: str) -> bytes:
    """The 32 raw bytes of a ``z6Mk…`` Multikey value (strict)."""
    data = b58btc_decode(multibase)
    if data[:2] != ED25519_PUB_HEADER:
        raise DidKeyError(f"multicodec header 0x{data[:2].hex()} is not Ed25519 public key (0xed01)")
    if len(data) != 34:
        raise DidKeyError(f"Ed25519 Multikey must be 34 bytes, got {len(data)}")
    return data[2:]


def did_from_public_key(raw: bytes) -> str:
    """``did:key:z6Mk…`` for a 32-byte Ed25519 public key."""
    return DID_KEY_PREFIX + encode_public_key(raw)


def public_key_from_did(did: str) -> bytes:
    """The 32-byte Ed25519 key named by ``did:key:z6Mk…`` (no fragment allowed)."""
    if not isinstance(did, str) or not did.startswith(DID_KEY_PREFIX):
        raise DidKeyError("not a did:key identifier")
    return decode_public_key(did[len(DID_KEY_PREFIX) :])


def verification_method_for(raw: bytes) -> str:
    """``did:key:<mb>#<mb>``: the verificationMethod id of a did:key's only key."""
    mb = encode_public_key(raw)
    return f"{DID_KEY_PREFIX}{mb}#{mb}"


def public_key_from_verification_method(vm: str) -> bytes:
    """Key of a ``did:key:<mb>#<mb>`` verification method; the fragment must equal ``<mb>``."""
    if not isinstance(vm, str):
        raise DidKeyError("verificationMethod must be a string")
    return _key_from_vm(vm)


@lru_cache(maxsize=4096)  # verifiers meet the same few issuer keys over and over
def _key_from_vm(vm: str) -> bytes:
    did, sep, fragment = vm.partition("#")
    if not sep:
        raise DidKeyError("verificationMethod has no '#<key>' fragment")
    raw = public_key_from_did(did)
    if fragment != did[len(DID_KEY_PREFIX) :]:
        raise DidKeyError("verificationMethod fragment does not match the did:key")
    return raw


__all__ = [
    "DidKeyError",
    "b58decode",
    "b58encode",
    "b58btc_decode",
    "b58btc_encode",
    "decode_public_key",
    "did_from_public_key",
    "encode_public_key",
    "public_key_from_did",
    "public_key_from_verification_method",
    "verification_method_for",
]
