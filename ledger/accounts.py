"""Ethereum accounts (governance, agency operators), encrypted at rest.

The files are standard Web3 Secret Storage (the geth keystore format: scrypt + AES), so an operator
can move a key into other Ethereum tooling. The passphrase comes from CERTLEDGER_KEY_PASSPHRASE or,
on the embedded default, from a random passphrase file readable by the owner only.
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount

PASSPHRASE_ENV = "CERTLEDGER_KEY_PASSPHRASE"
# scrypt N=2^15 (~0.1 s): interactive-grade cost; raise it for keys kept on shared machines.
_SCRYPT_N = 2**15


class AccountKeyError(Exception):
    pass


def passphrase_for(settings) -> str:
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value
    if settings.passphrase_file:
        path = settings.path(settings.passphrase_file)
        try:
            return path.read_text("utf-8").strip()
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
    account = Account.create()
    save_account(path, account.key, passphrase)
    return account


def save_account(path: Path, private_key: bytes, passphrase: str) -> None:
    keystore = Account.encrypt(private_key, passphrase, kdf="scrypt", iterations=_SCRYPT_N)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(keystore, f, indent=2)


def load_account(path: Path, passphrase: str) -> LocalAccount:
    try:
        keystore = json.loads(Path(path).read_text("utf-8"))
    except FileNotFoundError:
        raise AccountKeyError(f"no key file at {path}") from None
    except ValueError:
        raise AccountKeyError(f"{path} is not a key file") from None
    try:
        return Account.from_key(Account.decrypt(keystore, passphrase))
    except ValueError:
        raise AccountKeyError(f"cannot decrypt {path}: wrong passphrase or damaged file") from None


def address_of(path: Path) -> str:
    """The account's address, readable without the passphrase."""
    return "0x" + json.loads(Path(path).read_text("utf-8"))["address"]


def known_addresses(settings) -> list[str]:
    """Every account whose key lives in the data directory."""
    keys_dir = settings.data_dir / "keys"
    out = []
    for path in sorted(keys_dir.rglob("*.json")) if keys_dir.exists() else []:
        try:
            data = json.loads(path.read_text("utf-8"))
        except ValueError:
            continue
        if "crypto" in data and "address" in data:
            out.append("0x" + data["address"])
    return out


def fund_on_anvil(rpc_url: str, address: str, wei: int = 10**22) -> None:
    """Test ether on the embedded chain (anvil only)."""
    reply = requests.post(
        rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "anvil_setBalance", "params": [address, hex(wei)]}, timeout=5
    ).json()
    if "error" in reply:
        raise AccountKeyError(f"could not fund {address}: {reply['error']}")
