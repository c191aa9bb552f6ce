"""`certledger`: one command line for the whole system. Commands stay thin; the library does the work.

Start-up is kept short: a command's module (and with it web3, the database, rich...) is imported only
when that command runs. `--help` lists the commands from the table below without importing any of them.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

# name -> (module under certledger.cli, the first paragraph of its help). tests/unit/test_cli_imports.py
# checks that this table lists every command of the modules with the help the command itself has.
COMMANDS: dict[str, tuple[str, str]] = {
    "agency": ("agency_cmds", "Agencies: onboarding, keys, operators and activation (governance)."),
    "api-key": (
        "api_key_cmds",
        "API keys of the issuer API (`Authorization: Bearer clk_…`); only a hash of each is stored.",
    ),
    "backup": (
        "backup_cmds",
        "Write an encrypted, consistent backup of the data directory (safe while the services run).",
    ),
    "chain": ("chain_cmds", "The embedded chain (anvil), its state kept in the data directory."),
    "demo": (
        "demo_cmd",
        "Chain up, deploy, register two agencies, bulk-issue, anchor, revoke one, suspend one, verify all.",
    ),
    "deploy": ("setup_cmds", "Deploy the registry and the ledger; record them in the configuration."),
    "init": ("setup_cmds", "Create the data directory: configuration, encrypted governance key, database."),
    "issue": ("issue_cmds", "Issue one credential, anchor it, and write its bundle."),
    "issue-bulk": (
        "issue_cmds",
        "Issue one credential per row (CSV header = subject fields), anchor them in one batch, and write"
        " their bundles and share links (links.csv: row, credential id, link) to --out-dir.",
    ),
    "reissue": (
        "issue_cmds",
        "Re-issue, with the current key, every credential a revoked key's compromise invalidated.",
    ),
    "release-held": ("backup_cmds", "Anchor agency CODE's held credentials (restored pending, in doubt) anyway."),
    "reinstate": ("issue_cmds", "Reinstate the credential in BUNDLE_FILE on chain (as its agency)."),
    "render": (
        "render_cmd",
        "Lay out the certificate in BUNDLE (a file, - or a share link) by its own layout; print it, or --pdf.",
    ),
    "restore": (
        "backup_cmds",
        "Restore BACKUP_FILE into a new data directory, after checking the whole file's integrity.",
    ),
    "revoke": ("issue_cmds", "Revoke the credential in BUNDLE_FILE on chain (as its agency)."),
    "serve": ("serve_cmds", "Run a service on this machine (loopback unless told otherwise)."),
    "share": (
        "issue_cmds",
        "Print the share link of the credential in BUNDLE_FILE; write its QR code (the link, never the document).",
    ),
    "status-lists": (
        "status_cmds",
        "The agencies' W3C Bitstring Status Lists (published by `serve issuer` at the status base URL).",
    ),
    "suspend": ("issue_cmds", "Suspend the credential in BUNDLE_FILE on chain (as its agency)."),
    "type": ("issue_cmds", "Credential types and their JSON Schemas."),
    "verify": (
        "verify_cmds",
        "Verify credential bundles against the trusted deployments, reading only public chain state.",
    ),
}


class LazyGroup(click.Group):
    """A group whose commands are imported when one runs; its help comes from :data:`COMMANDS`."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = COMMANDS.get(cmd_name)
        if found is None:
            return None
        module = importlib.import_module(f"certledger.cli.{found[0]}")
        return next(c for c in module.COMMANDS if c.name == cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click's own layout (the same truncation), without importing every command for its help line
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [
            (name, click.Command(name, help=COMMANDS[name][1]).get_short_help_str(limit)) for name in sorted(COMMANDS)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="CERTLEDGER_HOME",
    help="Data directory (config, keys, database, chain state). Default: ./.certledger",
)
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None) -> None:
    """CertLedger: issue, anchor, share and verify tamper-evident certificates."""
    from certledger.cli.context import App

    ctx.obj = App(data_dir)


# Errors a person can act on are printed as one line, never as a traceback: (defining module, class).
# An exception of a class can only be raised once its module is loaded, so the check looks only at
# modules already in sys.modules and imports none of them.
_EXPECTED = (
    ("certledger.cli.context", "CliError"),
    ("ledger.settings", "ConfigError"),
    ("ledger.chain.errors", "ChainError"),
    ("ledger.chain.embedded", "EmbeddedChainError"),
    ("ledger.governance.accounts", "AccountKeyError"),
    ("ledger.chain.artifacts", "ArtifactMissing"),
    ("ledger.governance.key_files", "KeyStoreError"),
    ("ledger.governance.onboarding", "OnboardingError"),
    ("ledger.issuance.errors", "IssuanceError"),
    ("ledger.content.store", "ContentStoreError"),
    ("ledger.protocol.keys", "WeakKeyError"),
)


def _expected(exc: Exception) -> bool:
    for module_name, class_name in _EXPECTED:
        module = sys.modules.get(module_name)
        if module is not None and isinstance(exc, getattr(module, class_name)):
            return True
    return False


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
    except Exception as exc:
        if not _expected(exc):
            raise
        click.secho(f"error: {exc}", fg="red", err=True)
        return getattr(exc, "exit_code", 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
