"""JSON Canonicalization Scheme (RFC 8785, "JCS").

Digests and eddsa-jcs-2022 signatures are computed over JCS bytes, so every
implementation must produce byte-identical output: object members sorted by
their UTF-16 code units, no whitespace, strings with minimal escaping, numbers
in the ECMAScript ``Number.prototype.toString`` form.

This is the exact serialiser (the ``rfc8785`` package is the unit tests' differential
oracle). As in RFC 8785 every number is an IEEE 754 double: large integers are written as the
double they denote; non-finite values are refused. ``ledger.protocol.canonical_plain`` is the fast
path for JSON that needs none of this care.
"""

from __future__ import annotations

import math
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


__all__ = ["CanonicalizationError", "canonicalize", "text_bytes"]
