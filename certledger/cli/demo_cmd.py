"""certledger demo: the main job on the embedded defaults."""

from __future__ import annotations

from pathlib import Path

import click

from certledger.cli.context import App, pass_app
from certledger.initialise import initialise
from ledger.config import ConfigError, Settings, default_data_dir, load_settings


@click.command("demo")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where bundles/*.json and summary.json go. Default: <data dir>/demo",
)
@click.option(
    "--count",
    type=click.IntRange(2, 1_000_000),
    default=1000,
    show_default=True,
    help="How many sample credentials to issue.",
)
@pass_app
def demo(app: App, out_dir: Path | None, count: int) -> None:
    """Chain up, deploy, register two agencies, bulk-issue, anchor, revoke one, suspend one, verify all.

    Run it again at will: the chain, contracts and agencies are kept; each run issues new credentials
    and rewrites the output folder. `certledger chain down` stops the chain.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from certledger.demo import run_demo

    settings = _settings_or_initialise(app)
    out_dir = (out_dir or settings.data_dir / "demo").resolve()
    console = Console(emoji=False, highlight=False)
    console.print(f"data directory: {settings.data_dir}")
    with Progress(
        TextColumn("{task.description:>8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        tasks = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        result = run_demo(settings, out_dir, count, progress)
    _print_summary(console, result)
    if not result.as_expected:
        for line in result.unexpected[:20]:
            console.print(f"[red]unexpected:[/] {line}")
        raise click.exceptions.Exit(1)


def _settings_or_initialise(app: App) -> Settings:
    try:
        return app.settings
    except ConfigError:
        data_dir = (app._data_dir or default_data_dir(app.environment)).resolve()
        if (data_dir / "config.json").exists():
            raise
        click.echo(f"no configuration yet: initialising {data_dir} with the embedded defaults")
        initialise(Settings(data_dir=data_dir, environment=app.environment))
        return load_settings(data_dir, app.environment)


def _print_summary(console, result) -> None:
    from rich.table import Table

    table = Table(title="CertLedger demo", show_header=False, title_style="bold")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("chain", f"{result.rpc_url} (chain id {result.deployment.chain_id})")
    table.add_row("ledger", result.deployment.ledger_caip10)
    table.add_row("registry", result.deployment.registry_caip10)
    table.add_row("issued", str(result.issued))
    table.add_row(
        "anchored",
        f"{result.anchored} in {sum(1 for t, _ in result.transactions if t.startswith('anchor'))} transactions",
    )
    for what, gas in result.transactions:
        table.add_row("", f"{what}: {gas:,} gas")
    table.add_row("gas, total", f"{result.gas_total:,}")
    table.add_row("time", ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items()))
    table.add_row("verdicts", ", ".join(f"{k} {v}" for k, v in sorted(result.verdicts.items())))
    table.add_row("as expected", "[green]yes[/]" if result.as_expected else f"[red]no ({len(result.unexpected)})[/]")
    table.add_row("bundles", str(result.out_dir / "bundles"))
    table.add_row("summary", str(result.out_dir / "summary.json"))
    table.add_row("revoked", result.revoked_file)
    table.add_row("suspended", result.suspended_file)
    table.add_row(
        "status lists",
        f"{len(result.status_lists)} W3C list credentials in {result.out_dir / 'status-lists'} "
        f"(published at {result.status_base_url} by `certledger serve issuer`)",
    )
    console.print(table)
    click.echo(f"verify one yourself:  certledger verify {result.out_dir / result.sample_file}")
    click.echo(f"                      certledger verify {result.out_dir / result.revoked_file}")
    click.echo(f"share link:           {result.share_link.url}")
    click.echo(f"its QR code:          {result.out_dir / result.qr_file}")
    click.echo(f"transparency:         {result.transparency_url}")
    click.echo("open it in a browser: start the verifier page with `certledger serve verifier`, then open the links")
    click.echo("stop the chain:       certledger chain down")


COMMANDS = [demo]
