"""certledger status-lists export --out DIR: the W3C status lists as files, for static hosting."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from .context import App, CliError, pass_app


@click.group("status-lists")
def status_lists() -> None:
    """The agencies' W3C Bitstring Status Lists (published by `serve issuer` at the status base URL)."""


def _write_atomically(path: Path, data: bytes) -> None:
    """A reader (a web server) sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)   # public documents
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@status_lists.command("export")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory to write into: OUT/<agency>/<list id>/<purpose>, the URL paths after the status base URL.")
@pass_app
def export(app: App, out_dir: Path) -> None:
    """Refresh every status list from the database (signing what changed), then write each list
    credential to OUT/<agency>/<list id>/<purpose>, replacing files of earlier exports atomically.
    Serve the files as `application/vc` at the configured status base URL."""
    from ..issuance.context import IssuanceContext
    from ..issuance.status_publisher import list_credentials, publish

    try:
        ctx = IssuanceContext.from_settings(app.settings, rpc_urls=[])   # the database and keys; no chain needed
    except ValueError as exc:
        raise CliError(str(exc)) from None
    try:
        report = publish(ctx)
        written = 0
        for stored in list_credentials(ctx.engine):
            target = out_dir / stored.agency_code / str(stored.list_id) / stored.purpose
            _write_atomically(target, stored.body.encode("utf-8"))
            written += 1
            click.echo(f"wrote {target}  (valid until {stored.valid_until:%Y-%m-%dT%H:%M:%SZ})")
    finally:
        ctx.engine.dispose()
    click.echo(f"{written} list credential{'s' if written != 1 else ''} in {out_dir} ({len(report.signed)} signed now, "
               f"{report.unchanged} unchanged); base URL {ctx.status_base_url}")
    if report.skipped:
        lines = [f"{agency}/{list_id}: {why}" for agency, list_id, why in report.skipped]
        raise CliError("not refreshed (their files, if any, are the last published):\n  " + "\n  ".join(lines))


COMMANDS = [status_lists]
