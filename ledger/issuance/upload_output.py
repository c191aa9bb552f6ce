"""What a bulk upload leaves in ``certledger issue-bulk --out-dir``, written as the bundles are
delivered: the bundles, and ``links.csv`` (row, credential id, share link).

Delivery already builds every bundle of a batch once it is confirmed, in a worker process for a
large batch, and prepares its share there (``ledger.issuance.delivery``, ``.sharing``); the bundles
are written there too, as each chunk is built, instead of being built again afterwards or sent
back to this process. They take one of two forms:

* ``bundles.jsonl`` (the default): a compact bundle per line, in delivery (= row) order, appended
  through a descriptor the worker inherits;
* one file per bundle, ``NNNNNN.json`` by its row (``--files``). Creating 100,000 files cost 3-53 s
  of kernel time on this machine's disk, varying with what was deleted on it before: the reason it
  is not the default.

A share's link is written here once the share is recorded, from the shares the sink says it
recorded (``ShareStore.store_prepared``): those are the keys that open the stored objects.
Delivery is at least once: a bundle is not written again once its chunk was stored (a file is
rewritten with the same bytes), and lines a failed delivery wrote twice are dropped at the end.
Whatever was delivered elsewhere (another process held the anchoring lease) is written by
``finish``. ``bundles.jsonl`` and ``links.csv`` are written under ``.partial`` names and renamed
when complete, so neither is ever half-written under its own name.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from ledger.content.links import normalise_verifier_url, share_url
from ledger.issuance.bundle_bytes import anchored_bundles
from ledger.issuance.context import BundleSink

Progress = Callable[[int], None]
LINES_NAME = "bundles.jsonl"
LINKS_NAME = "links.csv"
_FILE_NAME = re.compile(r"[0-9]{6,}\.json")


def earlier_output(out_dir: Path) -> list[str]:
    """The names in ``out_dir`` that an upload writes: an earlier upload's output, which a new one
    would overwrite or mix with."""
    if not out_dir.is_dir():
        return []
    return sorted(
        name for name in os.listdir(out_dir) if name in (LINES_NAME, LINKS_NAME) or _FILE_NAME.fullmatch(name)
    )


class UploadOutput:
    """The bundles and share links of the credentials of ``rows`` (credential id -> row number).
    A context manager: the files are complete (renamed into place) only when the block ends
    without an error."""

    def __init__(
        self,
        out_dir: Path,
        rows: Mapping[str, int],
        verifier_url: str,
        *,
        one_file_each: bool = False,
        progress: Progress | None = None,
    ) -> None:
        self.out_dir, self.rows, self.one_file_each, self.progress = out_dir, rows, one_file_each, progress
        self.verifier_url = normalise_verifier_url(verifier_url)
        self.written: set[str] = set()  # bundles written (stored chunks, in this process)
        self.linked: set[str] = set()  # links written
        self._fds: dict[str, int] = {}

    @property
    def bundles_path(self) -> Path:
        return self.out_dir if self.one_file_each else self.out_dir / LINES_NAME

    def __enter__(self) -> UploadOutput:
        # Unbuffered and appending: the worker that builds the bundles writes lines through the
        # same descriptor (inherited), each write landing whole at the end.
        # Mode 0600: personal data, and the links' keys.
        for name in [LINKS_NAME] + ([] if self.one_file_each else [LINES_NAME]):
            self._fds[name] = os.open(self._partial(name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        _write_all(self._fds[LINKS_NAME], b"row,credentialId,link\n")
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        for name, fd in self._fds.items():
            os.close(fd)
            if exc_type is None:
                os.replace(self._partial(name), self.out_dir / name)

    def _partial(self, name: str) -> Path:
        return self.out_dir / (name + ".partial")

    def around(self, sink: BundleSink | None) -> BundleSink:
        """``sink``, with the upload's bundles and links written along."""
        prepare = sink.prepare if sink is not None else None

        def prepare_too(items):
            mine = [(credential_id, data) for credential_id, data in items if credential_id in self.rows]
            return (prepare(items) if prepare is not None else None), self._write_bundles(mine)

        def store(prepared) -> None:
            result, written = prepared
            recorded = sink.store(result) if sink is not None else None
            self._write_links(
                (share.credential_id, share.cid, share.key)
                for share in recorded or ()
                if share.credential_id in self.rows
            )
            self._written(written)

        return BundleSink(prepare_too, store)

    def finish(self, ctx, agency: str, shares) -> int:
        """Write the bundles and links not written during delivery (``shares``: the ShareStore that
        recorded them); returns how many bundles."""
        missing = [credential_id for credential_id in self.rows if credential_id not in self.written]
        self._written(self._write_bundles(list(anchored_bundles(ctx, agency, missing))))
        if not self.one_file_each:
            self._drop_repeated_lines()
        unlinked = [credential_id for credential_id in self.rows if credential_id not in self.linked]
        self._write_lines(
            LINKS_NAME,
            [f"{self.rows[i]},{i},{url}".encode() for i, url in shares.link_urls(agency, unlinked, self.verifier_url)],
        )
        self.linked.update(unlinked)
        return len(missing)

    def _write_bundles(self, items: list[tuple[str, bytes]]) -> list[str]:
        """Write ``items`` (possibly in the worker, where ``written`` is as it was when it started);
        returns their ids."""
        if self.one_file_each:
            for credential_id, data in items:
                (self.out_dir / f"{self.rows[credential_id]:06d}.json").write_bytes(data)
        else:
            self._write_lines(LINES_NAME, [data for credential_id, data in items if credential_id not in self.written])
        return [credential_id for credential_id, _ in items]

    def _written(self, ids: list[str]) -> None:
        self.written.update(ids)
        if self.progress is not None:
            self.progress(len(self.written))

    def _drop_repeated_lines(self) -> None:
        """A chunk the worker wrote whose storing then failed is written again when delivery starts
        over: keep the first line of each bundle (rare; counting the lines is cheap)."""
        path = self._partial(LINES_NAME)
        with open(path, "rb") as f:
            lines = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 24), b""))
        if lines == len(self.rows):
            return
        seen, kept = set(), []
        for line in path.read_bytes().splitlines():
            credential_id = json.loads(line)["credential"]["id"]
            if credential_id not in seen:
                seen.add(credential_id)
                kept.append(line)
        os.ftruncate(self._fds[LINES_NAME], 0)
        self._write_lines(LINES_NAME, kept)

    def _write_links(self, shares) -> None:
        lines = []
        for credential_id, cid, key in shares:
            if credential_id not in self.linked:
                self.linked.add(credential_id)
                url = share_url(self.verifier_url, cid, key)
                lines.append(f"{self.rows[credential_id]},{credential_id},{url}".encode())
        self._write_lines(LINKS_NAME, lines)

    def _write_lines(self, name: str, lines: list[bytes]) -> None:
        if lines:
            _write_all(self._fds[name], b"\n".join(lines) + b"\n")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


__all__ = ["LINES_NAME", "LINKS_NAME", "UploadOutput", "earlier_output"]
