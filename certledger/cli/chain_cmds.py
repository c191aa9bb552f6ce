"""certledger chain up | down | status."""

from __future__ import annotations

import click

from certledger.cli.context import App, pass_app


@click.group("chain")
def chain() -> None:
    """The embedded chain (anvil), its state kept in the data directory."""


@chain.command("up")
@pass_app
def chain_up(app: App) -> None:
    """Start anvil on loopback; the chain's state survives a restart."""
    process = app.embedded_chain().up()
    app.fund_known_accounts(process.rpc_url)
    click.echo(f"chain up: {process.rpc_url} (chain id {process.chain_id}, pid {process.pid})")
    click.echo(f"state: {process.state_file}")


@chain.command("down")
@pass_app
def chain_down(app: App) -> None:
    """Stop the embedded chain, saving its state."""
    click.echo("chain stopped" if app.embedded_chain().down() else "chain was not running")


@chain.command("status")
@pass_app
def chain_status(app: App) -> None:
    """Tell whether the embedded chain runs and answers. Exit 0 running, 3 otherwise."""
    status = app.embedded_chain().status()
    if status.state == "running":
        p = status.recorded
        click.echo(f"running: {p.rpc_url} (chain id {p.chain_id}, pid {p.pid}), block {status.block_number}")
        return
    click.echo(status.state + (f": {status.detail}" if status.detail else ""))
    raise click.exceptions.Exit(3)


COMMANDS = [chain]
