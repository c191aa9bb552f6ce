"""certledger status-lists export --out DIR: the W3C status lists as files, for static hosting."""

from __future__ import annotations

from pathlib import Path

import click

from certledger.cli.context import App, CliError, pass_app


@click.group("status-lists")
def status_lists() -> None:
    """The agencies' W3C Bitstring Status Lists (published by `serve issuer` at the status base URL)."""


@status_lists.command("export")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write into: OUT/<agency>/<list id>/<purpose>, the URL paths after the status base URL.",
)
@pass_app
def export(app: App, out_dir: Path) -> None:
    """Refresh every status list from the database (signing what changed), then write each list
    credential to OUT/<agency>/<list id>/<purpose>, replacing files of earlier exports atomically.
    Serve the files as `application/vc` at the configured status base URL."""
    from ledger.issuance.context import IssuanceContext
    from ledger.issuance.status_export import export_status_lists

    try:
        ctx = IssuanceContext.from_settings(app.settings, rpc_urls=[])  # the database and keys; no chain needed
    except ValueError as exc:
        raise CliError(str(exc)) from None
    try:
        report, files = export_status_lists(ctx, out_dir)
    finally:
        ctx.engine.dispose()
    for path in files:
        click.echo(f"wrote {path}")
    written = len(files)
    click.echo(
        f"{written} list credential{'s' if written != 1 else ''} in {out_dir} ({len(report.signed)} signed now, "
        f"{report.unchanged} unchanged); base URL {ctx.status_base_url}"
    )
    if report.skipped:
        lines = [f"{agency}/{list_id}: {why}" for agency, list_id, why in report.skipped]
        raise CliError("not refreshed (their files, if any, are the last published):\n  " + "\n  ".join(lines))


COMMANDS = [status_lists]
