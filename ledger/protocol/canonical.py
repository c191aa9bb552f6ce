"""JSON Canonicalization Scheme (RFC 8785, "JCS").

Digests and eddsa-jcs-2022 signatures are computed over JCS bytes, so every
implementation must produce byte-identical output: object members sorted by
their UTF-16 code units, no whitespace, strings with minimal escaping, numbers
in the ECMAScript ``Number.prototype.toString`` form.

This is a faster equivalent of the ``rfc8785`` package (which the unit tests
use as a differential oracle): verification canonicalises every credential
twice, on a hot path. As in RFC 8785 every number is an IEEE 754 double:
large integers are written as the double they denote; non-finite values are
refused.

Verification needs three JCS texts of one credential (the document without its
proof, the proof configuration, the whole credential for its digest). They share
their members, so :class:`Members` canonicalises each member value once and
assembles objects that differ by a member from the same pieces: the three texts
then cost one canonicalisation. For values straight from a JSON parser that saw no
float, no integer beyond ±(2**53-1) and no object key with a character beyond
U+FFFF ("plain JSON", see :func:`json_text_is_bmp`), the C JSON
encoder with sorted keys writes exactly the RFC 8785 text, and ``plain_json=True``
uses it; anything it cannot take falls back to the exact serialiser here.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Mapping
from json.encoder import encode_basestring  # C-accelerated, JCS escaping rules
from typing import Any

try:
    from json.encoder import c_make_encoder as _c_make_encoder  # type: ignore[attr-defined]  # not in typeshed
except ImportError:  # pragma: no cover - CPython always has it
    _c_make_encoder = None

_INT_MAX = 2**53 - 1


class CanonicalizationError(ValueError):
    """A value that has no RFC 8785 form (NaN, huge integer, non-string key...)."""


def _utf16_key(s: str) -> bytes:
    return s.encode("utf-16-be", "surrogatepass")


def _number(f: float) -> str:
    """ECMAScript Number::toString for a finite double (RFC 8785 §3.2.2.3)."""
    if f != f or f in (math.inf, -math.inf):
        raise CanonicalizationError(f"{f!r} is not representable in JSON")
    if f == 0:
        return "0"  # also -0
    if f < 0:
        return "-" + _number(-f)
    mantissa, _, exp = repr(f).partition("e")  # repr: shortest round-trip digits
    ip, _, fp = mantissa.partition(".")
    all_digits = ip + fp
    stripped = all_digits.lstrip("0")
    # value = 0.<digits> * 10**n
    n = len(ip) + (int(exp) if exp else 0) - (len(all_digits) - len(stripped))
    digits = stripped.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    head = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{head}e{sign}{abs(e)}"


def _big_int(n: int) -> str:
    """A JSON number *is* an IEEE 754 double (RFC 8785 §3.2.2.3): an integer past
    ±(2**53 - 1) is written as the double it denotes (``10**21`` -> ``1e+21``,
    ``2**53 + 1`` -> ``9007199254740992``), exactly as JavaScript and the other
    reference JCS implementations, which parse numbers as doubles, do."""
    try:
        f = float(n)
    except OverflowError:
        raise CanonicalizationError(f"integer {n} is beyond the IEEE 754 double range") from None
    return _number(f)


def _ser(obj: Any, out: list[Any]) -> None:  # Any: dispatched on type(obj) below, which mypy does not follow
    t = type(obj)
    if t is str:
        out.append(encode_basestring(obj))
    elif t is dict:
        if not obj:
            out.append("{}")
            return
        keys = list(obj)
        for key in keys:
            if type(key) is not str and not isinstance(key, str):
                raise CanonicalizationError("object keys must be strings")
        if "".join(keys).isascii():
            keys.sort()
        else:
            keys.sort(key=_utf16_key)
        sep = "{"
        for key in keys:
            out.append(sep)
            out.append(encode_basestring(key))
            out.append(":")
            _ser(obj[key], out)
            sep = ","
        out.append("}")
    elif t is list or t is tuple:
        if not obj:
            out.append("[]")
            return
        sep = "["
        for item in obj:
            out.append(sep)
            _ser(item, out)
            sep = ","
        out.append("]")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif obj is None:
        out.append("null")
    elif t is int:
        if -_INT_MAX <= obj <= _INT_MAX:
            out.append(str(obj))
        else:
            out.append(_big_int(obj))
    elif t is float:
        out.append(_number(obj))
    elif isinstance(obj, str):
        out.append(encode_basestring(obj))
    elif isinstance(obj, dict):
        _ser(dict(obj), out)
    elif isinstance(obj, (list, tuple)):
        _ser(list(obj), out)
    elif isinstance(obj, bool):  # pragma: no cover - bool is final
        _ser(bool(obj), out)
    elif isinstance(obj, int):
        _ser(int(obj), out)
    elif isinstance(obj, float):
        _ser(float(obj), out)
    else:
        raise CanonicalizationError(f"cannot canonicalize a {t.__name__}")


def canonicalize(obj: object) -> bytes:
    """RFC 8785 canonical UTF-8 bytes of a JSON value (dict/list/str/int/float/bool/None)."""
    out: list[str] = []
    _ser(obj, out)
    return text_bytes("".join(out))


def text_bytes(text: str) -> bytes:
    """UTF-8 of a canonical text; a lone surrogate (not Unicode) is a :class:`CanonicalizationError`."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalizationError("string contains a lone surrogate (not valid Unicode)") from exc


# ------------------------------------------------------------ member reuse, plain JSON

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


def _no_default(obj: object) -> object:
    raise TypeError(f"cannot canonicalize a {type(obj).__name__}")


_C_ENCODE = None
if _c_make_encoder is not None:
    try:  # markers=None: no cycle bookkeeping (a cycle ends in RecursionError, as in _ser)
        _C_ENCODE = _c_make_encoder(None, _no_default, encode_basestring, None, ":", ",", True, False, False)
    except TypeError:  # pragma: no cover - another CPython signature: use the exact serialiser
        _C_ENCODE = None


def _exact_text(value: object) -> str:
    out: list[str] = []
    _ser(value, out)
    return "".join(out)


def _plain_text(value: Any) -> str:  # Any: dispatched on type(value)
    t = type(value)
    if t is str:
        return encode_basestring(value)
    if (t is dict or t is list) and _C_ENCODE is not None:
        try:
            return "".join(_C_ENCODE(value, 0))
        except (TypeError, ValueError, RecursionError):
            pass  # not plain after all: the exact serialiser decides (and names the problem)
    return _exact_text(value)


def plain_object_text(obj: object) -> str | None:
    """Canonical text of a dict straight from a plain parse (see :class:`Members`), written by
    the C encoder in one call; None when the encoder refuses it (then use :class:`Members`)."""
    if _C_ENCODE is None or type(obj) is not dict:
        return None
    try:
        return "".join(_C_ENCODE(obj, 0))
    except (TypeError, ValueError, RecursionError):
        return None


def is_plain(value: object) -> bool:
    """True when the C encoder's sorted text of ``value`` is its RFC 8785 text: no float, no
    integer beyond ±(2**53-1), no object key with a character beyond U+FFFF (see :class:`Members`),
    and only JSON types."""
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
    call (signing a credential: 6 us here against 40 us member by member); the exact serialiser for
    anything else."""
    if _C_ENCODE is not None and type(value) is dict:
        try:
            return text_bytes("".join(_C_ENCODE(value, 0)))
        except (TypeError, ValueError, RecursionError):
            pass
    return canonicalize(value)


def value_text(value: object, *, plain_json: bool = False) -> str:
    """JCS text (not yet UTF-8) of one JSON value; see :class:`Members` for ``plain_json``."""
    return _plain_text(value) if plain_json else _exact_text(value)


class Members:
    """An object's members as canonical pieces ``"name":value``, in RFC 8785 order.

    ``Members.of(o).text()`` is the canonical text of ``o`` (errors as :func:`canonicalize`
    raises them, in the same order); :meth:`with_member` and :meth:`without` give the members of
    an object that differs by one member, without canonicalising the others again.
    ``plain_json=True`` promises that the object came from a JSON parser that met no float, no
    integer longer than ``PLAIN_INT_MAX_CHARS`` characters and no key with a character beyond
    U+FFFF (:func:`json_text_is_bmp`): the C encoder then writes the values (anything it cannot
    take still goes to the exact serialiser).
    """

    __slots__ = ("keys", "pieces", "_ascii")

    def __init__(self, keys: list[str], pieces: list[str], ascii_keys: bool) -> None:
        self.keys = keys
        self.pieces = pieces
        self._ascii = ascii_keys

    @classmethod
    def of(cls, obj: Mapping[str, Any], *, plain_json: bool = False) -> Members:
        if type(obj) is not dict:
            if not isinstance(obj, dict):
                raise CanonicalizationError(f"cannot canonicalize a {type(obj).__name__}")
            obj = dict(obj)
        keys = list(obj)
        for key in keys:
            if type(key) is not str and not isinstance(key, str):
                raise CanonicalizationError("object keys must be strings")
        ascii_keys = "".join(keys).isascii()
        if ascii_keys:
            keys.sort()
        else:
            keys.sort(key=_utf16_key)
        pieces: list[str] = []
        append = pieces.append
        if plain_json:
            for key in keys:
                value = obj[key]
                append(
                    encode_basestring(key)
                    + ":"
                    + (encode_basestring(value) if type(value) is str else _plain_text(value))
                )
        else:
            for key in keys:
                append(encode_basestring(key) + ":" + _exact_text(obj[key]))
        return cls(keys, pieces, ascii_keys)

    def text(self) -> str:
        return "{" + ",".join(self.pieces) + "}"

    def _find(self, key: str) -> tuple[int, bool, bool]:
        keys = self.keys
        ascii_keys = self._ascii and key.isascii()
        i = bisect_left(keys, key) if ascii_keys else bisect_left(keys, _utf16_key(key), key=_utf16_key)
        return i, i < len(keys) and keys[i] == key, ascii_keys

    def with_member(self, key: str, value_text: str) -> Members:
        """These members with ``key`` set to the value whose canonical text is ``value_text``."""
        i, present, ascii_keys = self._find(key)
        piece = encode_basestring(key) + ":" + value_text
        if present:
            return Members(self.keys, self.pieces[:i] + [piece] + self.pieces[i + 1 :], self._ascii)
        return Members(self.keys[:i] + [key] + self.keys[i:], self.pieces[:i] + [piece] + self.pieces[i:], ascii_keys)

    def without(self, key: str) -> Members:
        i, present, _ = self._find(key)
        if not present:
            return self
        keys = self.keys[:i] + self.keys[i + 1 :]
        return Members(keys, self.pieces[:i] + self.pieces[i + 1 :], "".join(keys).isascii())


def member_texts(obj: Mapping[str, Any], *, plain_json: bool = False) -> dict[str, str]:
    """``{name: JCS text of the value}`` for each member of a JSON object, in RFC 8785 order
    (see :class:`Members` for ``plain_json``); ``object_text(member_texts(o))`` is the
    canonical text of ``o``."""
    members = Members.of(obj, plain_json=plain_json)
    return {k: p[len(encode_basestring(k)) + 1 :] for k, p in zip(members.keys, members.pieces)}


def object_text(members: Mapping[str, str]) -> str:
    """Canonical text of an object from its members' canonical texts (any order given)."""
    keys = list(members)
    if "".join(keys).isascii():
        keys.sort()
    else:
        keys.sort(key=_utf16_key)
    return "{" + ",".join([encode_basestring(k) + ":" + members[k] for k in keys]) + "}"


__all__ = [
    "PLAIN_INT_MAX_CHARS",
    "CanonicalizationError",
    "Members",
    "canonicalize",
    "json_text_is_bmp",
    "plain_object_text",
    "member_texts",
    "object_text",
    "text_bytes",
    "value_text",
]
