"""certledger backup | restore: an encrypted snapshot of the data directory, and restoring one into a new one."""

from __future__ import annotations

from pathlib import Path

import click

from certledger.cli.context import App, CliError, pass_app


@click.command("backup")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The backup file.")
@pass_app
def backup(app: App, out: Path) -> None:
    """Write an encrypted, consistent backup of the data directory (safe while the services run)."""
    from ledger.governance.backup import BackupError, create_backup
    from ledger.storage.backup import DatabaseBackupError

    try:
        info = create_backup(app.settings, app.passphrase(), out)
    except (BackupError, DatabaseBackupError) as exc:
        raise CliError(str(exc)) from None
    click.echo(f"backup written: {out} ({info['bytes']} bytes, {info['files']} files, {info['database']} database)")
    click.echo("The embedded chain's state is not included: restore against the running chain.")
    click.echo("Keep the key passphrase apart from the backup: it is needed to restore it.")


@click.command("restore")
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--data-dir", "target", required=True, type=click.Path(file_okay=False, path_type=Path), help="A new directory."
)
@click.option("--database-url", default=None, help="PostgreSQL backups: an empty database to restore into.")
@click.option(
    "--passphrase-file",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The key passphrase's file (else CERTLEDGER_KEY_PASSPHRASE or CERTLEDGER_KEY_PASSPHRASE_FILE).",
)
@pass_app
def restore(app: App, backup_file: Path, target: Path, database_url: str | None, passphrase_file: Path | None) -> None:
    """Restore BACKUP_FILE into a new data directory, after checking the whole file's integrity."""
    from ledger.governance.backup import BackupError, restore_backup
    from ledger.governance.key_files import passphrase_from
    from ledger.storage.backup import DatabaseBackupError

    if passphrase_file is not None:
        passphrase = passphrase_file.read_text("utf-8").rstrip("\r\n")
    else:
        passphrase = passphrase_from(app.environment)
    try:
        info = restore_backup(backup_file, passphrase, target, database_url=database_url)
    except (BackupError, DatabaseBackupError) as exc:
        raise CliError(str(exc)) from None
    click.echo(f"restored {info['files']} files and the {info['database']} database into {target}")
    click.echo("Next: start the chain (`certledger --data-dir NEW chain up`, or set CERTLEDGER_RPC_URLS to the")
    click.echo("running node), then `certledger --data-dir NEW serve issuer`; pending credentials are anchored then.")


COMMANDS = [backup, restore]
