"""UTF-8 text from bytes, and what to do with a byte order mark: the one decoder for every input
that must be UTF-8 (bundles, shares, the verifier's request bodies, CSV uploads).

JSON inputs refuse a byte order mark (RFC 8259 §8.1: JSON text is not written with one; a bundle
is hashed as it is), so ``bom="refuse"``; a CSV exported by a spreadsheet often starts with one,
so ``bom="strip"`` drops it. Each caller turns the two errors into its own.
"""

from __future__ import annotations

from typing import Literal

BOM = "\ufeff"


class NotUtf8Error(ValueError):
    """Bytes that are not UTF-8; ``start``: the offset of the first byte at fault."""

    def __init__(self, start: int) -> None:
        super().__init__(f"not UTF-8 text (byte {start})")
        self.start = start


class ByteOrderMarkError(ValueError):
    """Text that starts with a byte order mark where none is allowed."""

    def __init__(self) -> None:
        super().__init__("starts with a byte order mark")


def decode_utf8(data: bytes | bytearray | memoryview | str, *, bom: Literal["refuse", "strip"]) -> str:
    """``data`` as text (``str`` is taken as decoded already). A leading byte order mark is refused
    (:class:`ByteOrderMarkError`) or stripped (from bytes, a second one as well: "utf-8-sig" and
    then the mark, as the CSV reader always did)."""
    if isinstance(data, str):
        text = data
    else:
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotUtf8Error(exc.start) from None
        if bom == "strip":
            text = text.removeprefix(BOM)
    if text.startswith(BOM):
        if bom == "refuse":
            raise ByteOrderMarkError()
        text = text.removeprefix(BOM)
    return text


__all__ = ["BOM", "ByteOrderMarkError", "NotUtf8Error", "decode_utf8"]
