"""What every command needs, built lazily: settings, database, chain connection, accounts."""

from __future__ import annotations

from functools import cached_property, update_wrapper
from pathlib import Path
from typing import TYPE_CHECKING

import click

# Imported where used, not here: `certledger --help` and `verify` start without web3, eth_account or the
# database (tests/unit/test_cli_imports.py).
if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from ledger.chain import LedgerClient, RegistryClient
    from ledger.chain.embedded import EmbeddedChain
    from ledger.config import Settings
    from ledger.protocol.deployment import Deployment
    from ledger.settings import LedgerEnvironment


class CliError(Exception):
    """A problem the user can fix; printed as one line."""

    exit_code = 1


class App:
    def __init__(self, data_dir: Path | None):
        self._data_dir = data_dir

    @cached_property
    def environment(self) -> LedgerEnvironment:
        """This process's CERTLEDGER_* variables, read once."""
        from ledger.settings import LedgerEnvironment

        return LedgerEnvironment.from_environ()

    @cached_property
    def settings(self) -> Settings:
        from ledger.config import load_settings

        return load_settings(self._data_dir, self.environment)

    @cached_property
    def engine(self):
        from ledger.storage import init_database

        return init_database(self.settings.resolved_database_url)

    def embedded_chain(self) -> EmbeddedChain:
        from ledger.chain.embedded import EmbeddedChain

        c = self.settings.chain
        if not c.embedded:
            raise CliError(
                "the chain is external (chain.embedded is false or CERTLEDGER_RPC_URLS is set); nothing to start here"
            )
        return EmbeddedChain(
            self.settings.chain_dir, c.host, c.port, c.state_interval, c.chain_id, anvil=self.environment.anvil
        )

    def rpc_urls(self) -> list[str]:
        from ledger.chain.embedded import rpc_urls_for

        return rpc_urls_for(self.settings)

    @cached_property
    def w3(self):
        from ledger.chain import connect

        return connect(self.rpc_urls(), self.settings.chain.chain_id)

    def passphrase(self) -> str:
        from ledger.governance import accounts

        return accounts.passphrase_for(self.settings)

    def load_account(self, relative_path: str) -> LocalAccount:
        from ledger.governance import accounts

        return accounts.load_account(self.settings.path(relative_path), self.passphrase())

    @cached_property
    def governance(self) -> LocalAccount:
        return self.load_account(self.settings.governance_key)

    def deployment(self) -> Deployment:
        if not self.settings.deployment:
            raise CliError("no contracts deployed for this configuration: run `certledger deploy`")
        from ledger.protocol.deployment import Deployment

        return Deployment.from_dict(self.settings.deployment)

    def registry(self, account: LocalAccount | None = None) -> RegistryClient:
        from ledger.chain import RegistryClient, make_sender

        sender = make_sender(self.w3, account, self.settings.chain.confirmations) if account else None
        return RegistryClient(self.w3, self.deployment().registry, sender)

    def ledger(self, account: LocalAccount | None = None) -> LedgerClient:
        from ledger.chain import LedgerClient, make_sender

        sender = make_sender(self.w3, account, self.settings.chain.confirmations) if account else None
        return LedgerClient(self.w3, self.deployment().ledger, sender)

    def trust_roots(self):
        """The verifier trusts this configuration's own deployment."""
        from ledger.verification import TrustRoots

        d = self.deployment()
        return TrustRoots.single(d.chain_id, d.registry, d.ledger, name="configured deployment")

    def chain_reader(self):
        from ledger.verification import CachedChainReader, RpcChainReader

        urls = self.settings.chain.rpc_urls if not self.settings.chain.embedded else self._embedded_urls_or_none()
        return CachedChainReader(RpcChainReader({self.settings.chain.chain_id: urls}))

    def _embedded_urls_or_none(self) -> list[str]:
        # A stopped chain is not a usage error for `verify`: the report says ERROR (could not decide).
        status = self.embedded_chain().status()
        if status.process:
            return [status.process.rpc_url]
        c = self.settings.chain
        return [f"http://{c.host}:{c.port}"] if c.port else []

    def fund_known_accounts(self, rpc_url: str) -> None:
        """On the embedded chain only: give our own accounts test ether (anvil_setBalance)."""
        from ledger.governance import accounts

        for address in accounts.known_addresses(self.settings):
            accounts.fund_on_anvil(rpc_url, address)


def pass_app(f):
    @click.pass_context
    def wrapper(ctx, *args, **kwargs):
        return ctx.invoke(f, ctx.find_object(App), *args, **kwargs)

    return update_wrapper(wrapper, f)


__all__ = ["App", "CliError", "pass_app"]
