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
    from ledger.config import load_settings
    from ledger.issuance.reconcile import hold_pending
    from ledger.storage import init_database

    engine = init_database(load_settings(target, app.environment).resolved_database_url)
    try:
        held = hold_pending(engine)
    finally:
        engine.dispose()
    for code, count in sorted(held.items()):
        click.echo(
            f"{code}: {count} credentials were pending in the snapshot; they are held until the anchorer has "
            "checked the chain for anchors the old directory made of them after the snapshot"
        )
    click.echo("Next: start the chain (`certledger --data-dir NEW chain up`, or set CERTLEDGER_RPC_URLS to the")
    click.echo("running node), then `certledger --data-dir NEW serve issuer`; pending credentials are anchored then.")


@click.command("release-held")
@click.argument("code")
@pass_app
def release_held(app: App, code: str) -> None:
    """Anchor agency CODE's held credentials (restored pending, in doubt) anyway.

    An anchor made after the snapshot may hold them already: each then has two anchors, both valid
    (docs/operations.md, "Backup and restore")."""
    from ledger.issuance.reconcile import release_held

    count = release_held(app.engine, code, actor=app.governance.address)
    click.echo(f"{code}: {count} held credentials released; the anchorer anchors them in its next round")


COMMANDS = [backup, restore, release_held]
