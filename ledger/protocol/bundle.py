"""The CertLedgerBundle: what a citizen holds and shares (docs/protocol.md §7, "The bundle").

::

    {"type": "CertLedgerBundle", "version": 2,
     "credential": {…the signed VC…},
     "anchor": {"ledger": "eip155:<chainId>:<0xaddress>",
                "registry": "eip155:<chainId>:<0xaddress>",
                "digest": "0x<64 hex>", "root": "0x<64 hex>",
                "path": ["0x<64 hex>", …], "txHash": "0x<64 hex>",
                "blockNumber": <int>}
               | null}

Parsing is strict, because a verifier must not guess: duplicate JSON keys,
unknown fields (top level and in ``anchor``), another ``type``, malformed hex,
malformed CAIP-10 accounts, a non-integer block number are each a
:class:`BundleFormatError` naming the field and the reason. A bundle of another
``version`` (v1 bundles, whose chain records had no agency namespace) is one
too, with the code ``UNSUPPORTED_VERSION``.

Conventions chosen here (the wire format for other implementations):

* 32-byte values are ``"0x"`` + 64 **lowercase** hex digits; nothing else is
  accepted (one value, one spelling).
* CAIP-10 accounts are ``eip155:<chainId>:0x<40 hex>``; ``chainId`` is a
  decimal without leading zeros; the address is all-lowercase or valid
  EIP-55 mixed case (an invalid checksum is refused as a likely typo);
  ``ledger`` and ``registry`` must name the same chain.
* ``blockNumber`` is a JSON integer ≥ 0 (not a float, not a string).
* Serialisation is UTF-8 JSON, members in the order above, non-ASCII kept.

Whether the digest, path and root *agree* is the verifier's ``anchor`` check,
not a format question.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ledger.protocol.canonical_plain import decode_noting_plain
from ledger.protocol.digest import credential_digest, to_hex32
from ledger.protocol.ijson import int_of_literal, shown
from ledger.protocol.json_depth import MAX_DEPTH, too_deep, value_too_deep
from ledger.protocol.keccak import keccak256
from ledger.protocol.utf8 import ByteOrderMarkError, NotUtf8Error, decode_utf8

BUNDLE_TYPE = "CertLedgerBundle"
BUNDLE_VERSION = 2
MAX_PATH_LENGTH = 64  # 2**64 leaves: more than any batch
_TOP_FIELDS = ("type", "version", "credential", "anchor")
_ANCHOR_FIELDS = ("ledger", "registry", "digest", "root", "path", "txHash", "blockNumber")
_TOP_FIELD_SET = frozenset(_TOP_FIELDS)
_ANCHOR_FIELD_SET = frozenset(_ANCHOR_FIELDS)
_HEX32 = re.compile(r"0x[0-9a-f]{64}")
_CAIP10 = re.compile(r"eip155:(0|[1-9][0-9]{0,31}):(0x[0-9a-fA-F]{40})")


class BundleFormatError(ValueError):
    """A bundle that is not well formed: ``field`` (dotted path), ``reason``, and ``code``
    (``BUNDLE_MALFORMED``, or ``UNSUPPORTED_VERSION`` for a bundle of another protocol version)."""

    def __init__(self, field: str, reason: str, code: str = "BUNDLE_MALFORMED") -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.code = code


def _checksum_ok(address: str) -> bool:
    body = address[2:]
    if body == body.lower() or body == body.upper():
        return True  # no checksum claimed
    h = keccak256(body.lower().encode("ascii")).hex()
    return all((c.upper() if int(h[i], 16) >= 8 else c.lower()) == c for i, c in enumerate(body))


@dataclass(frozen=True)
class Caip10:
    """An EVM account named ``eip155:<chainId>:<address>``."""

    chain_id: int
    address: str  # as written (lowercase or EIP-55)

    @classmethod
    def parse(cls, text: object, field: str = "account") -> Caip10:
        if not isinstance(text, str):
            raise BundleFormatError(field, "must be a string eip155:<chainId>:<0x address>")
        try:
            return _caip10(str.__str__(text))
        except ValueError as exc:
            raise BundleFormatError(field, str(exc)) from None

    @property
    def address_lower(self) -> str:
        """Lowercase address, for comparing with configured trust roots."""
        return self.address.lower()

    def same_account(self, other: Caip10) -> bool:
        return self.chain_id == other.chain_id and self.address_lower == other.address_lower

    def __str__(self) -> str:
        return f"eip155:{self.chain_id}:{self.address}"


@lru_cache(maxsize=1024)  # a verifier sees the same few deployments in every bundle
def _caip10(text: str) -> Caip10:
    m = _CAIP10.fullmatch(text)
    if m is None:
        raise ValueError(f"{text!r} is not a CAIP-10 account eip155:<chainId>:<0x + 40 hex>")
    if not _checksum_ok(m[2]):
        raise ValueError(f"address {m[2]} has an invalid EIP-55 checksum")
    return Caip10(int(m[1]), m[2])


@dataclass(frozen=True)
class Anchor:
    """Where and how a credential's digest was anchored."""

    ledger: Caip10
    registry: Caip10
    digest: bytes
    root: bytes
    path: tuple[bytes, ...]
    tx_hash: bytes
    block_number: int

    @property
    def chain_id(self) -> int:
        return self.ledger.chain_id

    def to_json(self) -> dict[str, Any]:
        return {
            "ledger": str(self.ledger),
            "registry": str(self.registry),
            "digest": to_hex32(self.digest),
            "root": to_hex32(self.root),
            "path": [to_hex32(p) for p in self.path],
            "txHash": to_hex32(self.tx_hash),
            "blockNumber": self.block_number,
        }


@dataclass(frozen=True)
class Bundle:
    """A credential and (once anchored) its anchor receipt."""

    credential: dict[str, Any]
    anchor: Anchor | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "type": BUNDLE_TYPE,
            "version": BUNDLE_VERSION,
            "credential": self.credential,
            "anchor": self.anchor.to_json() if self.anchor is not None else None,
        }

    def dumps(self, *, indent: int | None = 2) -> str:
        """JSON text (keep non-ASCII as is; encode with UTF-8)."""
        return json.dumps(self.to_json(), ensure_ascii=False, indent=indent)

    def to_bytes(self, *, indent: int | None = 2) -> bytes:
        return self.dumps(indent=indent).encode("utf-8")

    def credential_digest(self) -> bytes:
        return credential_digest(self.credential)


def make_anchor(
    *,
    ledger: str | Caip10,
    registry: str | Caip10,
    digest: bytes,
    root: bytes,
    path: list[bytes] | tuple[bytes, ...],
    tx_hash: bytes,
    block_number: int,
) -> Anchor:
    """Build an :class:`Anchor` from Python values (validated like a parsed one)."""
    return _anchor_from_json(
        {
            "ledger": str(ledger),
            "registry": str(registry),
            "digest": to_hex32(digest),
            "root": to_hex32(root),
            "path": [to_hex32(p) for p in path],
            "txHash": to_hex32(tx_hash),
            "blockNumber": block_number,
        }
    )


# ------------------------------------------------------------------ parsing


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise _DuplicateKey(k)
            seen.add(k)
    return d


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _hex32(value: object, field: str) -> bytes:
    raw = _hex32_of_text(str.__str__(value)) if isinstance(value, str) else None  # a str subclass: its text
    if raw is None:
        raise BundleFormatError(field, 'must be "0x" followed by 64 lowercase hex digits')
    return raw


# The bundles of one batch share their root, transaction and upper path nodes (the sibling at
# height h is on 2**h consecutive paths): most texts are decoded once.
@lru_cache(maxsize=8192)
def _hex32_of_text(text: str) -> bytes | None:
    # bytes.fromhex also takes uppercase and spaces: requiring its result to re-encode to
    # exactly the text leaves only 64 lowercase hex digits (as _HEX32 says, without a regex).
    if len(text) != 66 or not text.startswith("0x"):
        return None
    body = text[2:]
    try:
        raw = bytes.fromhex(body)
    except ValueError:
        return None
    return raw if raw.hex() == body else None


def _path(path: list[Any]) -> tuple[bytes, ...]:
    nodes = []
    for i, p in enumerate(path):
        raw = _hex32_of_text(p) if type(p) is str else None
        nodes.append(_hex32(p, f"anchor.path[{i}]") if raw is None else raw)
    return tuple(nodes)


def _anchor_from_json(a: object) -> Anchor:
    if type(a) is not dict and not isinstance(a, Mapping):
        raise BundleFormatError("anchor", "must be an object or null")
    if a.keys() != _ANCHOR_FIELD_SET:  # otherwise name the first unknown or missing field
        for key in a:
            if key not in _ANCHOR_FIELDS:
                raise BundleFormatError(f"anchor.{key}", "unknown field")
        for key in _ANCHOR_FIELDS:
            if key not in a:
                raise BundleFormatError(f"anchor.{key}", "is required")
    ledger = Caip10.parse(a["ledger"], "anchor.ledger")
    registry = Caip10.parse(a["registry"], "anchor.registry")
    if registry.chain_id != ledger.chain_id:
        raise BundleFormatError("anchor.registry", "must be on the same chain as anchor.ledger")
    digest = _hex32(a["digest"], "anchor.digest")
    root = _hex32(a["root"], "anchor.root")
    path = a["path"]
    if type(path) is not list:
        raise BundleFormatError("anchor.path", "must be an array of 0x-hex hashes")
    if len(path) > MAX_PATH_LENGTH:
        raise BundleFormatError("anchor.path", f"has more than {MAX_PATH_LENGTH} elements")
    path_b = _path(path)
    tx_hash = _hex32(a["txHash"], "anchor.txHash")
    bn = a["blockNumber"]
    if type(bn) is not int:
        raise BundleFormatError("anchor.blockNumber", "must be an integer")
    if bn < 0 or bn >= 2**64:
        raise BundleFormatError("anchor.blockNumber", "must be between 0 and 2**64-1")
    return Anchor(ledger, registry, digest, root, path_b, tx_hash, bn)


def bundle_from_json(obj: object) -> Bundle:
    """Validate an already-decoded bundle (note: duplicate keys cannot be seen here;
    use :func:`parse_bundle` on the raw text)."""
    if value_too_deep(obj):  # before anything recursive (canonical JSON, digests) meets it
        raise BundleFormatError("(bundle)", f"is nested more than {MAX_DEPTH} levels deep")
    return _bundle_from_obj(obj)


def _bundle_from_obj(obj: object) -> Bundle:
    if type(obj) is not dict and not isinstance(obj, Mapping):
        raise BundleFormatError("(bundle)", "must be a JSON object")
    if obj.keys() != _TOP_FIELD_SET:
        for key in obj:
            if key not in _TOP_FIELDS:
                raise BundleFormatError(key, "unknown field")
    if obj.get("type") != BUNDLE_TYPE:
        raise BundleFormatError("type", f"must be {BUNDLE_TYPE!r}")
    if "version" not in obj:
        raise BundleFormatError("version", "is required")
    version = obj["version"]
    if type(version) is not int:
        raise BundleFormatError("version", "must be an integer")
    if version != BUNDLE_VERSION:
        raise BundleFormatError(
            "version",
            f"unsupported version {shown(version)}; this software reads version {BUNDLE_VERSION}",
            "UNSUPPORTED_VERSION",
        )
    if "credential" not in obj:
        raise BundleFormatError("credential", "is required")
    credential = obj["credential"]
    if not isinstance(credential, dict):
        raise BundleFormatError("credential", "must be a JSON object")
    if "anchor" not in obj:
        raise BundleFormatError("anchor", "is required (null when not yet anchored)")
    anchor = obj["anchor"]
    return Bundle(credential, None if anchor is None else _anchor_from_json(anchor))


def parse_bundle(data: bytes | bytearray | str) -> Bundle:
    """Parse bundle JSON (UTF-8 bytes or text) strictly; raises :class:`BundleFormatError`."""
    return parse_bundle_plain(data)[0]


def parse_bundle_plain(data: bytes | bytearray | str) -> tuple[Bundle, bool]:
    """:func:`parse_bundle`, and whether the JSON was plain (``ledger.protocol.canonical_plain``):
    no float, no integer beyond 15 characters, no key whose Python order may differ from RFC 8785's."""
    if isinstance(data, (bytes, bytearray)):
        utf8 = bytes(data)
        try:
            text = decode_utf8(utf8, bom="refuse")
        except NotUtf8Error:
            raise BundleFormatError("(bundle)", "is not UTF-8 text") from None
        except ByteOrderMarkError:
            raise BundleFormatError("(bundle)", "starts with a byte order mark; write plain UTF-8") from None
    elif isinstance(data, str):
        text = data
        utf8 = text.encode("utf-8", "surrogatepass")
    else:
        raise TypeError("parse_bundle takes bytes or str")
    if too_deep(text):  # the decoder recurses in C: refuse before it could overflow the stack
        raise BundleFormatError("(bundle)", f"is nested more than {MAX_DEPTH} levels deep")
    try:
        # the flag lets verification canonicalise with the C encoder (ledger.protocol.canonical_plain)
        obj, plain = decode_noting_plain(
            text, utf8, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant, long_int=int_of_literal
        )
    except _DuplicateKey as exc:
        raise BundleFormatError(exc.key, "duplicate JSON key") from None
    except RecursionError:
        raise BundleFormatError("(bundle)", "is nested too deeply") from None
    except ValueError as exc:
        raise BundleFormatError("(bundle)", f"is not valid JSON: {exc}") from None
    return _bundle_from_obj(obj), plain


__all__ = [
    "BUNDLE_TYPE",
    "BUNDLE_VERSION",
    "Anchor",
    "Bundle",
    "BundleFormatError",
    "Caip10",
    "bundle_from_json",
    "make_anchor",
    "parse_bundle",
    "parse_bundle_plain",
]
