"""What to verify, from what a person names: bundle files, directories of them, the ``bundles.jsonl``
that ``issue-bulk`` writes (one compact bundle per line), standard input (``-``: one bundle or JSON
Lines) and share links (opened here: ``ledger.content.open_link``).

Each bundle becomes an :class:`Item` named by where it came from (``path``, ``path:line``,
``-:line``, a share link with its key redacted). Something that cannot be read becomes an item with
a ``problem`` instead of data: it is reported as could-not-decide, never raised.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:  # ledger.content loads qrcode and more: only a share link needs it
    from ledger.content.store import ContentStore

JSONL_SUFFIX = ".jsonl"


@dataclass(frozen=True)
class Item:
    source: str
    data: bytes | None = None
    problem: str | None = None  # why there is nothing to verify
    code: str = ""  # the problem's code: UNREADABLE, NO_BUNDLES, SHARE_LINK


def is_share_link(arg: str) -> bool:
    return arg.startswith(("http://", "https://"))


def redacted_link(text: str) -> str:
    """A link as it may be printed: everything after ``#`` (the key) replaced."""
    base, hash_sign, _ = text.partition("#")
    return f"{base}#k=<redacted>" if hash_sign else base


def expand(
    args: list[str], stdin: BinaryIO | None = None, content_store: ContentStore | None = None
) -> tuple[list[Item], bool]:
    """The items ``args`` name, in order, and whether they are one bundle named on its own (one
    file, link or ``-`` holding one JSON value: the caller prints one report as it always did)."""
    items: list[Item] = []
    single = len(args) == 1
    for arg in args:
        if arg == "-":
            data = stdin.read() if stdin is not None else b""
            lines = _jsonl_lines(data)
            if lines is None:
                items.append(Item("-", data))
            else:
                single = False
                items.extend(Item(f"-:{n}", line) for n, line in lines)
        elif is_share_link(arg):
            items.append(_from_link(arg, content_store))
        else:
            path = Path(arg)
            if path.is_dir():
                single = False
                found = sorted(p for p in path.glob("*.json") if p.is_file())
                if not found:
                    items.append(Item(arg, problem=f"no *.json bundles in the directory {arg}", code="NO_BUNDLES"))
                items.extend(_from_file(p, str(p)) for p in found)
            elif path.suffix == JSONL_SUFFIX:
                single = False
                items.extend(_from_jsonl(path, arg))
            else:
                items.append(_from_file(path, arg))
    return items, single


def _from_file(path: Path, source: str) -> Item:
    try:
        return Item(source, path.read_bytes())
    except OSError as exc:
        return Item(source, problem=f"cannot read {source}: {exc.strerror}", code="UNREADABLE")


def _from_jsonl(path: Path, source: str) -> list[Item]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [Item(source, problem=f"cannot read {source}: {exc.strerror}", code="UNREADABLE")]
    lines = [(n, line) for n, line in enumerate(data.splitlines(), 1) if line.strip()]
    if not lines:
        return [Item(source, problem=f"no bundles in {source} (no line holds one)", code="NO_BUNDLES")]
    # a line that is not JSON is found where it is verified (ledger.verification.many): it names its line
    return [Item(f"{source}:{n}", line) for n, line in lines]


def _jsonl_lines(data: bytes) -> list[tuple[int, bytes]] | None:
    """Standard input's lines when it holds JSON Lines rather than one JSON value, else None
    (one value, or text that is no JSON at all: verified as one bundle, whose report says why)."""
    try:
        json.loads(data)
        return None
    except (ValueError, RecursionError):
        pass
    lines = [(n, line) for n, line in enumerate(data.splitlines(), 1) if line.strip()]
    if len(lines) < 2:
        return None
    try:
        json.loads(lines[0][1])
    except (ValueError, RecursionError):
        return None
    return lines


def _from_link(text: str, content_store: ContentStore | None) -> Item:
    from ledger.content.links import ShareLinkError
    from ledger.content.open_link import ShareOpenError, open_share_link

    source = redacted_link(text)
    try:
        return Item(source, open_share_link(text, content_store))
    except (ShareLinkError, ShareOpenError) as exc:
        return Item(source, problem=str(exc), code="SHARE_LINK")


__all__ = ["Item", "expand", "is_share_link", "redacted_link"]
