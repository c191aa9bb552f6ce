"""Creating a data directory: configuration, passphrase (embedded default), governance key, database."""

from __future__ import annotations

from ledger.config import ConfigError, Settings
from ledger.governance import accounts
from ledger.storage import init_database


def initialise(settings: Settings) -> str | None:
    """Create everything `settings` names; returns the new governance address, or None if it existed."""
    if settings.config_file.exists():
        return None
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = settings.environment
    if (env.key_passphrase and env.key_passphrase.get_secret_value()) or env.key_passphrase_file:
        settings.passphrase_file = None  # the operator manages the passphrase
    elif settings.passphrase_file is None:
        raise ConfigError(
            "passphrase_file: not set, and neither is CERTLEDGER_KEY_PASSPHRASE or CERTLEDGER_KEY_PASSPHRASE_FILE"
        )
    else:
        accounts.create_passphrase_file(settings.path(settings.passphrase_file))
    governance = accounts.create_account(settings.path(settings.governance_key), accounts.passphrase_for(settings))
    init_database(settings.resolved_database_url)
    settings.save()
    return governance.address
