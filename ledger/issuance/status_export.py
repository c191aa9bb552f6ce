"""The status lists as static files: ``DIR/<agency>/<list id>/<purpose>``, the URL paths after the
status base URL, for an agency that hosts them on a plain web server (served as ``application/vc``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ledger.issuance.status_publisher import PublishReport, list_credentials, publish


def _write_atomically(path: Path, data: bytes) -> None:
    """A reader (a web server) sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # public documents
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export_status_lists(ctx, out_dir: Path) -> tuple[PublishReport, list[Path]]:
    """Refresh every list (``publish``: signing what changed), then write each list credential under
    ``out_dir``, replacing earlier exports' files atomically. Returns what the refresh did and the
    files written."""
    report = publish(ctx)
    written = []
    for stored in list_credentials(ctx.engine):
        target = Path(out_dir) / stored.agency_code / str(stored.list_id) / stored.purpose
        _write_atomically(target, stored.body.encode("utf-8"))
        written.append(target)
    return report, written


__all__ = ["export_status_lists"]
