"""How deeply JSON may nest, checked before any recursive code sees it.

Python's JSON decoder and encoder recurse in C once per level, and libraries imported with web3
(py_ecc) raise the recursion limit to 100,000, far beyond what a thread's stack holds: a body of
100,000 '[' would crash the process (a segmentation fault) instead of raising RecursionError.
No bundle comes anywhere near :data:`MAX_DEPTH`; deeper input is refused up front, by the bundle
parser (a format error) and by the verifier service (a 400) alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MAX_DEPTH = 512
"""Deepest nesting of arrays and objects accepted (a bundle nests about 6 levels)."""

_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')


def too_deep(data: bytes | str, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text's arrays and objects nest deeper than ``limit`` (strings are skipped)."""
    if isinstance(data, (bytes, bytearray)):
        if data.count(b"[") + data.count(b"{") <= limit:  # so few cannot nest deeper (a bundle has ~30)
            return False
        data = bytes(data).decode("latin-1")  # brackets and quotes are ASCII; UTF-8 never hides them
    elif data.count("[") + data.count("{") <= limit:
        return False
    depth = 0
    for match in _STRUCTURE.finditer(data):
        c = match.group()[0]
        if c in "[{":
            depth += 1
            if depth > limit:
                return True
        elif c in "]}":
            depth -= 1
    return False


def value_too_deep(value: object, limit: int = MAX_DEPTH) -> bool:
    """:func:`too_deep` for decoded JSON (dicts, lists, tuples), walked without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list, tuple)))
    return False


__all__ = ["MAX_DEPTH", "too_deep", "value_too_deep"]
