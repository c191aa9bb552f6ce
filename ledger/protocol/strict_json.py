"""JSON request bodies read strictly: UTF-8, no repeated member names, no NaN or Infinity.

A document whose member appears twice means different things to different parsers (most keep the
last, some the first), so a signed document with one could verify here and read otherwise
elsewhere: such bodies are refused, as bundles are (``ledger.protocol.bundle``).
"""

from __future__ import annotations

import json
import threading
from typing import Any, NoReturn

from ledger.protocol.canonical import PLAIN_INT_MAX_CHARS, json_text_is_bmp


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


# Whether the text is "plain" in the sense of ledger.protocol.canonical.Members (no float, no long integer,
# no character beyond the BMP), noted by the number hooks while it is decoded (as ledger.protocol.bundle does).
_plain = threading.local()


def _note_float(text: str) -> float:
    _plain.ok = False
    return float(text)


def _note_int(text: str) -> int:
    if len(text) > PLAIN_INT_MAX_CHARS:
        _plain.ok = False
    return int(text)


_PLAIN_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant, parse_float=_note_float, parse_int=_note_int
)


def parse_strict_json_plain(data: bytes) -> tuple[object, bool]:
    """:func:`parse_strict_json`, and whether the document is plain JSON, so that an eddsa-jcs-2022
    proof may be checked with the C encoder (``ledger.protocol.proof.verify_proof_and_digest(plain_json=…)``)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonBodyError("the body is not a JSON document (UTF-8)") from None
    _plain.ok = json_text_is_bmp(data)
    try:
        return _PLAIN_DECODER.decode(text), _plain.ok
    except _Duplicate as exc:
        raise JsonBodyError(f"the JSON repeats the member {exc.args[0]!r}") from None
    except JsonBodyError:
        raise
    except (ValueError, RecursionError):
        raise JsonBodyError("the body is not a JSON document (UTF-8)") from None


__all__ = ["JsonBodyError", "parse_strict_json", "parse_strict_json_plain"]
