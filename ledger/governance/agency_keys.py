"""An agency's keys in the data directory, encrypted at rest: its operator account and signing key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount

from ledger.governance import accounts
from ledger.governance.key_files import load_signing_key, save_signing_key
from ledger.protocol.keys import SigningKey


@dataclass
class AgencyKeys:
    operator: LocalAccount
    signing_key: SigningKey


def agency_key_dir(data_dir: Path, code: str) -> Path:
    return data_dir / "keys" / "agencies" / code


def create_or_load_agency_keys(data_dir: Path, code: str, passphrase: str) -> AgencyKeys:
    """Load the agency's keys, creating whichever is missing (so a retry never makes new ones)."""
    folder = agency_key_dir(data_dir, code)
    operator_file, signing_file = folder / "operator.json", folder / "signing.json"
    if operator_file.exists():
        operator = accounts.load_account(operator_file, passphrase)
    else:
        operator = accounts.create_account(operator_file, passphrase)
    if signing_file.exists():
        signing = load_signing_key(signing_file, passphrase)
    else:
        signing = SigningKey.generate()
        save_signing_key(signing_file, signing, passphrase)
    return AgencyKeys(operator, signing)


def load_agency_keys(data_dir: Path, code: str, passphrase: str) -> AgencyKeys:
    folder = agency_key_dir(data_dir, code)
    return AgencyKeys(
        accounts.load_account(folder / "operator.json", passphrase),
        load_signing_key(folder / "signing.json", passphrase),
    )
