"""I-JSON numbers (RFC 7493 §2.2): what a credential may contain so that every reader sees the number
that was signed.

eddsa-jcs-2022 signs the RFC 8785 text, in which every number is an IEEE 754 double. An integer
beyond ±(2**53-1) has no exact double: ``9007199254740993`` would be signed as ``9007199254740992``
while a reader displays the literal, and ``9007199254740992``, ``9007199254740993`` and
``9007199254740992.0`` would all verify. So CertLedger refuses, at issuance and in the verifier's
``format`` check, any number whose value is integral and outside ±(2**53-1) (however it is written),
and NaN and the infinities (which have no JSON form at all). Fractions such as ``0.5`` are fine.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ledger.protocol.errors import FieldError

MAX_SAFE_INTEGER = 2**53 - 1


def shown(value: int) -> str:
    """An integer as a person should read it in a message: its digits, or for a huge one (Python
    refuses to write integers of more than 4,300 digits) its size."""
    if value.bit_length() <= 200:
        return str(value)
    magnitude = abs(value)
    digits = int((magnitude.bit_length() - 1) * 0.30102999566398) + 1  # from the bits, then corrected
    if 10**digits <= magnitude:
        digits += 1
    elif 10 ** (digits - 1) > magnitude:
        digits -= 1
    return f"a {digits}-digit integer"


def int_of_literal(text: str) -> int:
    """The value of a JSON integer literal of any length (``int()`` refuses more than 4,300 digits,
    which would make a bundle with such a number unreadable instead of refused with its field)."""
    try:
        return int(text)
    except ValueError:
        digits = text.lstrip("-")
        value = 0
        for start in range(0, len(digits), 4000):
            chunk = digits[start : start + 4000]
            value = value * 10 ** len(chunk) + int(chunk)
        return -value if text.startswith("-") else value


def number_problem(value: object) -> str | None:
    """Why ``value`` (a parsed JSON number) is not I-JSON, or None when it is (or is not a number)."""
    if type(value) is bool:
        return None
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return None
        text = shown(value)
        return f"{text if text[0] == 'a' else 'the integer ' + text} is outside ±(2**53-1); write it as a string"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return f"{value!r} is not a JSON number"
        if value.is_integer() and abs(value) > MAX_SAFE_INTEGER:
            return f"the number {value!r} is an integer outside ±(2**53-1); write it as a string"
    return None


def _join(path: str, key: object) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def number_errors(value: object, path: str = "") -> list[FieldError]:
    """Every number in ``value`` (any JSON structure) that is not I-JSON, with its dotted path."""
    errors: list[FieldError] = []
    stack: list[tuple[str, object]] = [(path, value)]
    while stack:  # iterative: depth is bounded elsewhere (ledger.protocol.json_depth), but never recurse here
        here, item = stack.pop()
        if isinstance(item, Mapping):
            stack.extend((_join(here, k), v) for k, v in item.items())
        elif isinstance(item, (list, tuple)):
            stack.extend((_join(here, i), v) for i, v in enumerate(item))
        elif isinstance(item, (int, float)):
            problem = number_problem(item)
            if problem is not None:
                errors.append(FieldError(here or "(value)", problem))
    return sorted(errors)


__all__ = ["MAX_SAFE_INTEGER", "int_of_literal", "number_errors", "number_problem", "shown"]
