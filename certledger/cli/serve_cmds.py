"""certledger serve verifier [--host 127.0.0.1 --port 8080 --workers 1]."""

from __future__ import annotations

import ipaddress
import os
import sys

import click

from certledger.cli.context import App, CliError, pass_app

DEFAULT_VERIFIER_PORT = 8080
DEFAULT_ISSUER_PORT = 8000


@click.group("serve")
def serve() -> None:
    """Run a service on this machine (loopback unless told otherwise)."""


def verifier_settings(app: App):
    """The verifier's defaults on this data directory, then the environment's overrides
    (``CERTLEDGER_VERIFIER_*``): trust the configured deployment, read the configured chain, serve
    the data directory's content store, keep the index in the data directory."""
    from ledger.protocol.deployment import Deployment
    from verifier.settings import SettingsError, VerifierSettings

    settings = app.settings
    base = VerifierSettings(
        database_url=f"sqlite:///{settings.data_dir / 'verifier-index.db'}",
        content_dir=str(settings.data_dir / "content"),
        # the issuer's content store: IPFS when CERTLEDGER_IPFS_API names a node
        ipfs_api=app.environment.ipfs_api,
        confirmations=max(1, settings.chain.confirmations),
    )
    if settings.deployment:
        d = app.deployment()
        base = _replace(
            base,
            trust_roots=(Deployment.trust_root(d.chain_id, d.registry, d.ledger, "configured deployment", d.block),),
        )
    urls = settings.chain.rpc_urls if not settings.chain.embedded else app._embedded_urls_or_none()
    if urls:
        base = _replace(base, rpc_urls={settings.chain.chain_id: tuple(urls)})
    try:
        return base.with_environment().check()
    except SettingsError as exc:
        hint = "" if settings.deployment else " (no deployment in this data directory: run `certledger deploy`)"
        raise CliError(f"verifier settings: {exc}{hint}") from None


def _replace(settings, **changes):
    from dataclasses import replace

    return replace(settings, **changes)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@serve.command("verifier")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", default=DEFAULT_VERIFIER_PORT, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="uvicorn worker processes (each holds the chain index in memory).",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
@pass_app
def serve_verifier(app: App, host: str, port: int, workers: int, log_level: str) -> None:
    """The verifier service and its web page: verify bundles, share links and QR codes."""
    import uvicorn

    settings = verifier_settings(app)
    if not _is_loopback(host):
        click.secho(
            f"warning: listening on {host}, reachable from other machines; put it behind TLS "
            "(share links need https for the page to decrypt)",
            fg="yellow",
            err=True,
        )
    trust = ", ".join(r.ledger_caip10 for r in settings.trust_roots)
    chains = "; ".join(f"{cid}: {', '.join(urls)}" for cid, urls in settings.rpc_urls.items())
    store = settings.ipfs_api and f"IPFS {settings.ipfs_api}" or f"local {settings.content_dir}"
    click.echo(
        f"verifier: http://{host if ':' not in host else f'[{host}]'}:{port}/  ({workers} worker"
        f"{'s' if workers > 1 else ''})"
    )
    click.echo(f"trusting: {trust}")
    click.echo(f"chain: {chains}")
    click.echo(f"content: {store}")
    click.echo(f"index: {settings.database_url}")
    if workers == 1:
        from verifier.app import create_app

        uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)
    else:
        # uvicorn's supervisor spawns the workers and kills one that does not answer its health
        # check within 5 s; a worker re-imports the parent's main module first, and this CLI's is
        # heavy (web3). So hand over to `python -m uvicorn`, whose workers start light, with the
        # settings in the environment (CERTLEDGER_VERIFIER_*).
        os.environ.update(settings.to_env())
        from http_common.metrics import MULTIPROC_ENV, multiprocess_dir

        # the workers' verdicts and latencies, in files that each worker's /metrics sums
        os.environ[MULTIPROC_ENV] = str(multiprocess_dir(app.settings.data_dir, "verifier"))
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(
            sys.executable,
            [
                sys.executable,
                "-m",
                "uvicorn",
                "verifier.app:app_from_env",
                "--factory",
                "--host",
                host,
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--log-level",
                log_level,
            ],
        )


@serve.command("issuer")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", default=DEFAULT_ISSUER_PORT, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="uvicorn worker processes answering requests; anchoring runs beside them in a process of its own.",
)
@click.option(
    "--verifier-url",
    default=f"http://127.0.0.1:{DEFAULT_VERIFIER_PORT}",
    show_default=True,
    help="The verifier that share links point to.",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
@pass_app
def serve_issuer(app: App, host: str, port: int, workers: int, verifier_url: str, log_level: str) -> int:
    """The agencies' API (OpenAPI documentation at /docs): issue, anchor, share, revoke, audit."""
    from ledger.chain.embedded import EmbeddedChainError, rpc_urls_for

    try:
        app.rpc_urls()
    except EmbeddedChainError:
        # Issuance does not need the chain; the anchorer retries until `certledger chain up`.
        rpc_urls_for(app.settings, allow_down=True)  # still an error if no port is configured
        click.secho("the embedded chain is down: anchoring is paused, issuance continues", fg="yellow", err=True)
    if not app.settings.deployment:
        raise CliError("no contracts deployed for this configuration: run `certledger deploy`")
    if not _is_loopback(host):
        click.secho(
            f"warning: listening on {host}, reachable from other machines; put it behind TLS", fg="yellow", err=True
        )
    from issuer_api.supervisor import serve as supervise
    from ledger.settings import IssuerSettings, LedgerEnvironment

    # The supervisor's processes read their settings from the environment they inherit.
    os.environ[LedgerEnvironment.env_name("home")] = str(app.settings.data_dir)
    os.environ.setdefault(IssuerSettings.env_name("verifier_url"), verifier_url)
    anchorer = IssuerSettings.from_environ().run_anchorer  # CERTLEDGER_RUN_ANCHORER, read as the service reads it
    click.echo(
        f"issuer API: http://{host}:{port}/docs  ({workers} worker{'s' if workers > 1 else ''}"
        f"{', anchoring in a process of its own' if anchorer else ', not anchoring'})"
    )
    sys.stdout.flush()
    # Workers build the service from the data directory themselves (issuer_api.main.app_from_env).
    return supervise(
        ["--host", host, "--port", str(port), "--workers", str(workers), "--log-level", log_level],
        app.settings.data_dir,
        anchorer,
    )


COMMANDS = [serve]
