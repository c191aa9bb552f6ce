"""certledger init | deploy."""

from __future__ import annotations

import click

from certledger.cli.context import App, pass_app
from certledger.initialise import initialise
from ledger.chain import deploy_contracts, deployment_is_current, make_sender
from ledger.config import ChainSettings, Settings, default_data_dir
from ledger.governance import accounts
from ledger.storage import record_audit


@click.command("init")
@click.option(
    "--rpc-url",
    "rpc_urls",
    multiple=True,
    help="Use an external EVM node (repeat for fallbacks) instead of the embedded chain.",
)
@click.option("--chain-id", type=int, default=31337, show_default=True)
@click.option("--port", type=int, default=8545, show_default=True, help="Embedded chain port (0: any free port).")
@click.option("--database-url", default="sqlite:///certledger.db", show_default=True)
@click.pass_context
def init(ctx: click.Context, rpc_urls: tuple[str, ...], chain_id: int, port: int, database_url: str) -> None:
    """Create the data directory: configuration, encrypted governance key, database."""
    app: App = ctx.obj
    data_dir = (app._data_dir or default_data_dir(app.environment)).resolve()
    settings = Settings(
        data_dir=data_dir,
        environment=app.environment,
        chain=ChainSettings(embedded=not rpc_urls, rpc_urls=list(rpc_urls), chain_id=chain_id, port=port),
        database_url=database_url,
    )
    governance = initialise(settings)
    if governance is None:
        click.echo(f"already initialised: {settings.config_file} (nothing changed)")
        return
    click.echo(f"initialised {data_dir}")
    click.echo(f"governance account: {governance} (key encrypted in {settings.governance_key})")
    click.echo(
        "first API key for the issuer API: certledger api-key create --governance --scopes governance --name first"
    )


@click.command("deploy")
@click.option("--force", is_flag=True, help="Deploy a new pair even if one is recorded and live.")
@pass_app
def deploy(app: App, force: bool) -> None:
    """Deploy the registry and the ledger; record them in the configuration."""
    if app.settings.deployment and not force:
        recorded = app.deployment()
        if deployment_is_current(app.w3, recorded):
            click.echo(
                f"already deployed: ledger {recorded.ledger}, registry {recorded.registry} (use --force for a new pair)"
            )
            return
        if app.w3.eth.get_code(recorded.ledger):
            click.echo("the recorded deployment is of an older protocol version; deploying the current contracts")
        else:
            click.echo("the recorded deployment has no code on this chain (the chain was reset); deploying anew")
    governance = app.governance
    if app.settings.chain.embedded:
        accounts.fund_on_anvil(app.rpc_urls()[0], governance.address)
    deployment = deploy_contracts(make_sender(app.w3, governance, app.settings.chain.confirmations))
    app.settings.record_deployment(deployment.to_dict())
    record_audit(
        app.engine,
        "deploy",
        governance.address,
        subject=deployment.ledger_caip10,
        tx_hash=deployment.ledger_tx,
        details=deployment.to_dict(),
    )
    click.echo(f"registry {deployment.registry_caip10}")
    click.echo(f"ledger   {deployment.ledger_caip10} (block {deployment.block})")


COMMANDS = [init, deploy]
