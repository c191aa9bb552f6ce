"""Ethereum accounts (governance, agency operators), encrypted at rest in CertLedger key files.

The passphrase comes from CERTLEDGER_KEY_PASSPHRASE (or the file named by
CERTLEDGER_KEY_PASSPHRASE_FILE) or, on the embedded default, from a random passphrase file in the
data directory readable by its owner only.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.governance.key_files import (
    KIND_SECP256K1,
    PASSPHRASE_ENV,
    KeyStoreError,
    PassphraseMissingError,
    generate_operator_key,
    load_operator_key,
    passphrase_from,
    read_key_file_public,
    save_operator_key,
)


class AccountKeyError(Exception):
    pass


def passphrase_for(settings) -> str:
    """The passphrase from the environment the settings were loaded with, else the data directory's file."""
    try:
        return passphrase_from(settings.environment)
    except PassphraseMissingError:
        pass
    if settings.passphrase_file:
        try:
            return settings.path(settings.passphrase_file).read_text("utf-8").strip()
        except FileNotFoundError:
            pass
    raise AccountKeyError(f"no key passphrase: set {PASSPHRASE_ENV} or create the passphrase file (`certledger init`)")


def create_passphrase_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(32) + "\n")


def create_account(path: Path, passphrase: str) -> LocalAccount:
    """A new random account, written encrypted; refuses to overwrite an existing key."""
    secret = generate_operator_key()
    Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    save_operator_key(path, secret, passphrase)
    return Account.from_key(secret)


def load_account(path: Path, passphrase: str) -> LocalAccount:
    try:
        return Account.from_key(load_operator_key(path, passphrase))
    except FileNotFoundError:
        raise AccountKeyError(f"no key file at {path}") from None
    except KeyStoreError as exc:
        raise AccountKeyError(str(exc)) from None


def known_addresses(settings) -> list[str]:
    """Every account whose key lives in the data directory (addresses are stored in clear)."""
    keys_dir = settings.data_dir / "keys"
    out = []
    for path in sorted(keys_dir.rglob("*.json")) if keys_dir.exists() else []:
        try:
            kind, public = read_key_file_public(path)
        except (KeyStoreError, OSError, ValueError):
            continue
        if kind == KIND_SECP256K1:
            out.append(public)
    return out


def fund_on_anvil(rpc_url: str, address: str, wei: int = 10**22) -> None:
    """Test ether on the embedded chain (anvil only)."""
    reply = requests.post(
        rpc_url,
        json={"jsonrpc": "2.0", "id": 1, "method": "anvil_setBalance", "params": [address, hex(wei)]},
        timeout=5,
    ).json()
    if "error" in reply:
        raise AccountKeyError(f"could not fund {address}: {reply['error']}")
