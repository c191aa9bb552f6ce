"""JSON request bodies read strictly: UTF-8, no repeated member names, no NaN or Infinity.

A document whose member appears twice means different things to different parsers (most keep the
last, some the first), so a signed document with one could verify here and read otherwise
elsewhere: such bodies are refused, as bundles are (``ledger.protocol.bundle``).
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from ledger.protocol.canonical_plain import decode_noting_plain


class JsonBodyError(ValueError):
    """A body that is not strict JSON; the message says why (without echoing it)."""


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise _Duplicate(key)
            seen.add(key)
    return out


def _refuse_constant(name: str) -> NoReturn:
    raise JsonBodyError(f"{name} is not JSON")


def parse_strict_json(data: bytes | str) -> object:
    """The parsed body, or :class:`JsonBodyError`."""
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)
    except _Duplicate as exc:
        raise JsonBodyError(f"the JSON repeats the member {exc.args[0]!r}") from None
    except JsonBodyError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise JsonBodyError("the body is not a JSON document (UTF-8)") from None


def parse_strict_json_plain(data: bytes) -> tuple[object, bool]:
    """:func:`parse_strict_json`, and whether the document is plain JSON, so that an eddsa-jcs-2022
    proof may be checked with the C encoder (``ledger.protocol.proof.verify_proof_and_digest(plain_json=…)``)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonBodyError("the body is not a JSON document (UTF-8)") from None
    try:
        return decode_noting_plain(text, data, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)
    except _Duplicate as exc:
        raise JsonBodyError(f"the JSON repeats the member {exc.args[0]!r}") from None
    except JsonBodyError:
        raise
    except (ValueError, RecursionError):
        raise JsonBodyError("the body is not a JSON document (UTF-8)") from None


__all__ = ["JsonBodyError", "parse_strict_json", "parse_strict_json_plain"]
