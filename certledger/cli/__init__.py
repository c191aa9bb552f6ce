"""`certledger`: one command line for the whole system. Commands stay thin; the library does the work."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from certledger.cli.context import App, CliError
from ledger.chain import ChainError
from ledger.chain.artifacts import ArtifactMissing
from ledger.chain.embedded import EmbeddedChainError
from ledger.config import ConfigError
from ledger.content.store import ContentStoreError
from ledger.governance.accounts import AccountKeyError
from ledger.governance.key_files import KeyStoreError
from ledger.governance.onboarding import OnboardingError
from ledger.issuance.errors import IssuanceError
from ledger.protocol.keys import WeakKeyError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="CERTLEDGER_HOME",
    help="Data directory (config, keys, database, chain state). Default: ./.certledger",
)
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None) -> None:
    """CertLedger: issue, anchor, share and verify tamper-evident certificates."""
    ctx.obj = App(data_dir)


def _register_commands() -> None:
    from certledger.cli import (
        agency_cmds,
        api_key_cmds,
        chain_cmds,
        demo_cmd,
        issue_cmds,
        serve_cmds,
        setup_cmds,
        status_cmds,
        verify_cmds,
    )

    for module in (
        demo_cmd,
        setup_cmds,
        chain_cmds,
        agency_cmds,
        api_key_cmds,
        issue_cmds,
        verify_cmds,
        serve_cmds,
        status_cmds,
    ):
        for command in module.COMMANDS:
            cli.add_command(command)


_register_commands()

# Errors a person can act on are printed as one line, never as a traceback.
_EXPECTED = (
    CliError,
    ConfigError,
    ChainError,
    EmbeddedChainError,
    AccountKeyError,
    ArtifactMissing,
    KeyStoreError,
    OnboardingError,
    IssuanceError,
    ContentStoreError,
    WeakKeyError,
)


def main(argv: list[str] | None = None) -> int:
    try:
        # Without standalone mode click returns an Exit's code instead of raising it.
        result = cli.main(args=argv, prog_name="certledger", standalone_mode=False)
        if isinstance(result, int):
            return result
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return 130
    except _EXPECTED as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        return getattr(exc, "exit_code", 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
