"""Bundle files for a bulk upload (``certledger issue-bulk --out-dir``), written as the bundles are
delivered.

Delivery already builds every bundle of a batch once it is confirmed, in a worker process for a
large batch (``ledger.issuance.delivery``). Writing each file there, beside encrypting its share,
saves building them all again afterwards, and overlaps the files with this process storing the
shares: 100,000 bundle files took 8.8-17.5 s after the anchoring, creating the files being most of
it (100,000 file creations cost 3.5-40 s of kernel time on this machine's disk, varying with what
was deleted on it before). A file holds exactly what ``get_bundle`` gives, and writing it again
(delivery is at least once) writes the same bytes. Bundles delivered elsewhere (another process
held the anchoring lease) are written afterwards by ``write_missing``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from .batch_bundles import anchored_bundles
from .context import BundleSink

Progress = Callable[[int], None]


class BundleFiles:
    """Writes the bundle of each credential in ``names`` (credential id -> file name) to ``out_dir``."""

    def __init__(self, out_dir: Path, names: Mapping[str, str], progress: Progress | None = None) -> None:
        self.out_dir, self.names, self.progress = out_dir, names, progress
        self.written: set[str] = set()   # in this process: what the stored chunks held

    def around(self, sink: BundleSink | None) -> BundleSink:
        """``sink`` that also writes the files: in its ``prepare`` (possibly in the worker), counted
        in its ``store`` (here)."""
        prepare = sink.prepare if sink is not None else None

        def write_then_prepare(items):
            written = self._write(items)
            return (prepare(items) if prepare is not None else None), written

        def store(prepared) -> None:
            result, written = prepared
            if sink is not None:
                sink.store(result)
            self.written.update(written)
            if self.progress is not None:
                self.progress(len(self.written))

        return BundleSink(write_then_prepare, store)

    def write_missing(self, ctx, agency: str) -> int:
        """Write the files not written during delivery; returns how many."""
        missing = [credential_id for credential_id in self.names if credential_id not in self.written]
        self._write(anchored_bundles(ctx, agency, missing))
        self.written.update(missing)
        if self.progress is not None:
            self.progress(len(self.written))
        return len(missing)

    def _write(self, items) -> list[str]:
        written = []
        for credential_id, data in items:
            name = self.names.get(credential_id)
            if name is not None:   # the batch may hold other credentials than this upload's
                (self.out_dir / name).write_bytes(data)
                written.append(credential_id)
        return written


__all__ = ["BundleFiles"]
