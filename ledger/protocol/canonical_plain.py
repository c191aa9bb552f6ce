"""RFC 8785 text by the C JSON encoder, for "plain" JSON.

For values from a JSON parser that met no float, no integer beyond ±(2**53-1) and no object key
with a character beyond U+FFFF, ``json``'s C encoder with sorted keys and no spaces writes exactly
the RFC 8785 text: one C call instead of the exact serialiser's walk (``ledger.protocol.canonical``,
which stays the reference; tests/unit/test_canonical_plain.py holds the two equal). A parser tells
plain text with :func:`json_text_is_bmp` and :data:`PLAIN_INT_MAX_CHARS`
(``ledger.protocol.strict_json``, ``ledger.protocol.bundle``); a value built in Python is checked
with :func:`is_plain`. Measured on a credential: 6 us against 40 us for the exact serialiser, on
each of the three texts a verification hashes (docs/benchmarks.md).
"""

from __future__ import annotations

import json
import marshal
from collections.abc import Callable
from functools import lru_cache
from json.encoder import encode_basestring  # C-accelerated, JCS escaping rules
from typing import Any

from ledger.protocol.canonical import canonicalize, text_bytes

try:
    from json.encoder import c_make_encoder as _c_make_encoder  # type: ignore[attr-defined]  # not in typeshed
except ImportError:  # pragma: no cover - CPython always has it
    _c_make_encoder = None

_INT_MAX = 2**53 - 1

# Python orders str by code point, RFC 8785 by UTF-16 code unit. A character up to U+FFFF
# (a lone surrogate included) is one code unit equal to its code point, so the two orders agree
# on keys without characters beyond U+FFFF; they can differ once a key holds one (a surrogate
# pair in UTF-16, which sorts below U+E000..U+FFFF).
_UTF8_ASTRAL_LEADS = (b"\xf0", b"\xf1", b"\xf2", b"\xf3", b"\xf4")
# An integer of at most 15 characters (sign included) is within ±(2**53 - 1).
PLAIN_INT_MAX_CHARS = 15


def json_text_is_bmp(utf8: bytes) -> bool:
    """True when JSON text (UTF-8 bytes) cannot decode to any character beyond U+FFFF: it has
    no 4-byte UTF-8 sequence and no ``\\u`` escape. Then every key's Python order is its RFC 8785
    order. (Cheap: six byte searches.)"""
    f0, f1, f2, f3, f4 = _UTF8_ASTRAL_LEADS
    if f0 in utf8 or f1 in utf8 or f2 in utf8 or f3 in utf8 or f4 in utf8:
        return False
    return b"\\" not in utf8 or b"\\u" not in utf8  # one-byte search first: far faster


class _NotPlain(Exception):
    """Raised by the plain decoder's number hooks: the text holds a float or a long integer."""


def _refuse_float(literal: str) -> float:
    raise _NotPlain


def _short_int(literal: str) -> int:
    if len(literal) > PLAIN_INT_MAX_CHARS:
        raise _NotPlain
    return int(literal)


# Decoders are built once per set of hooks (building one costs about as much as decoding a small
# bundle). The plain one refuses what is not plain instead of noting it, so it holds no state.
@lru_cache(maxsize=16)
def _decoder(
    object_pairs_hook: Callable[..., Any], parse_constant: Callable[..., Any], parse_int: Callable[[str], int]
) -> json.JSONDecoder:
    parse_float = _refuse_float if parse_int is _short_int else float
    return json.JSONDecoder(
        object_pairs_hook=object_pairs_hook, parse_constant=parse_constant, parse_float=parse_float, parse_int=parse_int
    )


def decode_noting_plain(
    text: str,
    utf8: bytes,
    *,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any],
    parse_constant: Callable[[str], Any],
    long_int: Callable[[str], int] = int,
) -> tuple[Any, bool]:
    """``json.loads(text)`` with these hooks, and whether the text was plain: no float, no integer
    longer than :data:`PLAIN_INT_MAX_CHARS` (``long_int`` parses those), no character beyond U+FFFF
    (``utf8`` is the text's UTF-8). Plain text, the usual case, is decoded once; other text twice."""
    if json_text_is_bmp(utf8):
        try:
            return _decoder(object_pairs_hook, parse_constant, _short_int).decode(text), True
        except _NotPlain:
            pass
    return _decoder(object_pairs_hook, parse_constant, long_int).decode(text), False


def _no_default(obj: object) -> object:
    raise TypeError(f"cannot canonicalize a {type(obj).__name__}")


_C_ENCODE = None
if _c_make_encoder is not None:
    try:  # markers=None: no cycle bookkeeping (a cycle ends in RecursionError, as in canonicalize)
        _C_ENCODE = _c_make_encoder(None, _no_default, encode_basestring, None, ":", ",", True, False, False)
    except TypeError:  # pragma: no cover - another CPython signature: use the exact serialiser
        _C_ENCODE = None


def plain_object_text(obj: object) -> str | None:
    """Canonical text of a dict straight from a plain parse, written by the C encoder in one call;
    None when the encoder refuses it (then use ``canonicalize``)."""
    if _C_ENCODE is None or type(obj) is not dict:
        return None
    try:
        return "".join(_C_ENCODE(obj, 0))
    except (TypeError, ValueError, RecursionError):
        return None


# A member many documents share word for word (a type's display layout, the credential's
# ``renderMethod``: a third of a credential's text) is written once and spliced into each document's
# text. The memo is keyed by ``marshal``, which is exact where ``==`` is not (``True == 1``), and
# bounded. Measured on a degree credential: 31 us for the whole text, 14 us for the rest of it and
# 6 us for the key (bench/bench_fast_paths.py); both texts of a verification share one key.
_MEMBER_TEXTS: dict[bytes, str] = {}
_MEMBER_TEXTS_MAX = 64
_PLACEHOLDER = "\ue000certledger:shared-member\ue000"
_PLACEHOLDER_TEXT = '"' + _PLACEHOLDER + '"'  # as the encoder writes it (no character it escapes)


def shared_member_text(value: object) -> str | None:
    """The canonical text of a plain JSON value, remembered for the next documents that hold an
    identical one; None when the encoder refuses it."""
    try:
        key = marshal.dumps(value)  # type: ignore[arg-type]  # any JSON value; others raise ValueError
    except ValueError:  # not a JSON value
        return None
    text = _MEMBER_TEXTS.get(key)
    if text is None:
        if _C_ENCODE is None:
            return None
        try:
            text = "".join(_C_ENCODE(value, 0))
        except (TypeError, ValueError, RecursionError):
            return None
        if len(_MEMBER_TEXTS) >= _MEMBER_TEXTS_MAX:
            _MEMBER_TEXTS.clear()
        _MEMBER_TEXTS[key] = text
    return text


def plain_object_text_sharing(obj: object, key: str, member_text: str) -> str | None:
    """:func:`plain_object_text` of ``obj`` whose member ``key`` has the text ``member_text``
    (from :func:`shared_member_text`): the rest is encoded, the member spliced in. None when
    ``obj`` itself holds the placeholder text elsewhere, or the encoder refuses it."""
    if type(obj) is not dict or key not in obj:
        return None
    rest = dict(obj)
    rest[key] = _PLACEHOLDER
    text = plain_object_text(rest)
    if text is None or text.count(_PLACEHOLDER_TEXT) != 1:
        return None
    return text.replace(_PLACEHOLDER_TEXT, member_text, 1)


def is_plain(value: object) -> bool:
    """True when the C encoder's sorted text of ``value`` is its RFC 8785 text: no float, no
    integer beyond ±(2**53-1), no object key with a character beyond U+FFFF, and only JSON types."""
    stack = [value]
    while stack:
        item: Any = stack.pop()  # dispatched on type(item), which mypy does not follow
        t = type(item)
        if t is str or item is None or t is bool:
            continue
        if t is int:
            if not -_INT_MAX <= item <= _INT_MAX:
                return False
        elif t is dict:
            for key, member in item.items():
                if type(key) is not str or not (key.isascii() or max(key) <= "\uffff"):
                    return False
                stack.append(member)
        elif t is list:
            stack.extend(item)
        else:
            return False
    return True


def canonicalize_plain(value: object) -> bytes:
    """:func:`canonicalize` of a value :func:`is_plain` accepted, written by the C encoder in one
    call; the exact serialiser for
    anything else."""
    if _C_ENCODE is not None and type(value) is dict:
        try:
            return text_bytes("".join(_C_ENCODE(value, 0)))
        except (TypeError, ValueError, RecursionError):
            pass
    return canonicalize(value)


__all__ = [
    "PLAIN_INT_MAX_CHARS",
    "canonicalize_plain",
    "decode_noting_plain",
    "is_plain",
    "json_text_is_bmp",
    "plain_object_text",
    "plain_object_text_sharing",
    "shared_member_text",
]
