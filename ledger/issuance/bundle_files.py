"""What a bulk upload leaves in ``certledger issue-bulk --out-dir``, written as the bundles are
delivered: the bundles, and ``links.csv`` (row, credential id, share link).

Delivery already builds every bundle of a batch once it is confirmed, in a worker process for a
large batch, and prepares its share there (``ledger.issuance.delivery``, ``.sharing``); the output
rides along instead of building them again afterwards. The bundles take one of two forms:

* ``bundles.jsonl`` (the default): a compact bundle per line, appended here as each chunk is
  stored, in delivery (= row) order;
* one file per bundle, ``NNNNNN.json`` by its row (``--files``), written in ``prepare`` (possibly in
  the worker). Creating 100,000 files cost 3-53 s of kernel time on this machine's disk, varying
  with what was deleted on it before: the reason it is not the default.

A share's link is written once the share is recorded, from the shares the sink says it recorded
(``ShareStore.store_prepared``): those are the keys that open the stored objects. Delivery is at
least once: what is written already is not written again (a file is rewritten with the same
bytes). Whatever was delivered elsewhere (another process held the anchoring lease) is written by
``finish``. ``bundles.jsonl`` and ``links.csv`` are written under ``.partial`` names and renamed
when complete, so neither is ever half-written under its own name.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from ledger.content.links import normalise_verifier_url, share_url

from .batch_bundles import anchored_bundles
from .context import BundleSink

Progress = Callable[[int], None]
LINES_NAME = "bundles.jsonl"
LINKS_NAME = "links.csv"
_FILE_NAME = re.compile(r"[0-9]{6,}\.json")


def earlier_output(out_dir: Path) -> list[str]:
    """The names in ``out_dir`` that an upload writes: an earlier upload's output, which a new one
    would overwrite or mix with."""
    if not out_dir.is_dir():
        return []
    return sorted(name for name in os.listdir(out_dir) if name in (LINES_NAME, LINKS_NAME) or _FILE_NAME.fullmatch(name))


class UploadOutput:
    """The bundles and share links of the credentials of ``rows`` (credential id -> row number).
    A context manager: the files are complete (renamed into place) only when the block ends
    without an error."""

    def __init__(self, out_dir: Path, rows: Mapping[str, int], verifier_url: str, *, one_file_each: bool = False,
                 progress: Progress | None = None) -> None:
        self.out_dir, self.rows, self.one_file_each, self.progress = out_dir, rows, one_file_each, progress
        self.verifier_url = normalise_verifier_url(verifier_url)
        self.written: set[str] = set()   # bundles written (stored chunks, in this process)
        self.linked: set[str] = set()    # links written
        self._files: dict[str, object] = {}

    @property
    def bundles_path(self) -> Path:
        return self.out_dir if self.one_file_each else self.out_dir / LINES_NAME

    def __enter__(self) -> "UploadOutput":
        names = [LINKS_NAME] + ([] if self.one_file_each else [LINES_NAME])
        for name in names:
            self._files[name] = open(self.out_dir / (name + ".partial"), "wb")
        self._files[LINKS_NAME].write(b"row,credentialId,link\n")
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        for name, file in self._files.items():
            file.close()
            if exc_type is None:
                os.replace(self.out_dir / (name + ".partial"), self.out_dir / name)

    def around(self, sink: BundleSink | None) -> BundleSink:
        """``sink``, with the upload's bundles and links written along."""
        prepare = sink.prepare if sink is not None else None

        def prepare_too(items):
            mine = [(credential_id, data) for credential_id, data in items if credential_id in self.rows]
            return (prepare(items) if prepare is not None else None), self._prepared(mine)

        def store(prepared) -> None:
            result, mine = prepared
            recorded = sink.store(result) if sink is not None else None
            self._write_links((share.credential_id, share.cid, share.key) for share in recorded or ()
                              if share.credential_id in self.rows)
            self._stored(mine)

        return BundleSink(prepare_too, store)

    def finish(self, ctx, agency: str, shares) -> int:
        """Write the bundles and links not written during delivery (``shares``: the ShareStore that
        recorded them); returns how many bundles."""
        missing = [credential_id for credential_id in self.rows if credential_id not in self.written]
        self._stored(self._prepared(list(anchored_bundles(ctx, agency, missing))))
        unlinked = [credential_id for credential_id in self.rows if credential_id not in self.linked]
        self._write_lines(LINKS_NAME, [f"{self.rows[i]},{i},{url}".encode() for i, url
                                       in shares.link_urls(agency, unlinked, self.verifier_url)])
        self.linked.update(unlinked)
        return len(missing)

    def _prepared(self, items: list[tuple[str, bytes]]):
        if not self.one_file_each:
            return items
        for credential_id, data in items:
            (self.out_dir / f"{self.rows[credential_id]:06d}.json").write_bytes(data)
        return [(credential_id, None) for credential_id, _ in items]   # nothing more to send back

    def _stored(self, items) -> None:
        if not self.one_file_each:
            self._write_lines(LINES_NAME, [data for credential_id, data in items if credential_id not in self.written])
        self.written.update(credential_id for credential_id, _ in items)
        if self.progress is not None:
            self.progress(len(self.written))

    def _write_links(self, shares) -> None:
        lines = []
        for credential_id, cid, key in shares:
            if credential_id not in self.linked:
                self.linked.add(credential_id)
                lines.append(f"{self.rows[credential_id]},{credential_id},{share_url(self.verifier_url, cid, key)}".encode())
        self._write_lines(LINKS_NAME, lines)

    def _write_lines(self, name: str, lines: list[bytes]) -> None:
        if lines:
            self._files[name].write(b"\n".join(lines) + b"\n")


__all__ = ["LINES_NAME", "LINKS_NAME", "UploadOutput", "earlier_output"]
