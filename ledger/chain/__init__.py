"""The chain client: deploy, call and read the CertLedger contracts on any EVM JSON-RPC node.

The web3 clients (connect, the contract clients, deploying, sending) are imported on first use
(PEP 562): web3 takes a second or more to import, and reading views (``ledger.chain.views``), the
errors, the records and the embedded chain need none of it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ledger.chain.artifacts import ledger_artifact, registry_artifact
from ledger.chain.errors import (
    ChainError,
    ContractReverted,
    InsufficientFunds,
    NodeUnreachable,
    OutOfGas,
    TransactionDropped,
    WrongChainId,
)
from ledger.chain.records import AgencyInfo, AnchorRecord, ChainEvent, CredentialState, KeyRecord, Reason, StatusRecord

if TYPE_CHECKING:
    from ledger.chain.connection import connect
    from ledger.chain.contracts import LedgerClient, RegistryClient
    from ledger.chain.deploy import Deployment, deploy_contracts, deployment_is_current
    from ledger.chain.revert_decoding import RevertDecoder
    from ledger.chain.transactions import PendingTx, TransactionSender, TxResult

_LAZY = {
    "connect": "ledger.chain.connection",
    "LedgerClient": "ledger.chain.contracts",
    "RegistryClient": "ledger.chain.contracts",
    "Deployment": "ledger.chain.deploy",
    "deploy_contracts": "ledger.chain.deploy",
    "deployment_is_current": "ledger.chain.deploy",
    "RevertDecoder": "ledger.chain.revert_decoding",
    "PendingTx": "ledger.chain.transactions",
    "TransactionSender": "ledger.chain.transactions",
    "TxResult": "ledger.chain.transactions",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def make_sender(w3, account, confirmations: int = 1) -> TransactionSender:
    """A sender whose revert decoder knows both contracts' errors."""
    from ledger.chain.revert_decoding import RevertDecoder
    from ledger.chain.transactions import TransactionSender

    return TransactionSender(w3, account, RevertDecoder(registry_artifact().abi, ledger_artifact().abi), confirmations)


__all__ = [
    "AgencyInfo",
    "AnchorRecord",
    "ChainError",
    "ChainEvent",
    "connect",
    "ContractReverted",
    "CredentialState",
    "deploy_contracts",
    "Deployment",
    "deployment_is_current",
    "InsufficientFunds",
    "KeyRecord",
    "ledger_artifact",
    "LedgerClient",
    "make_sender",
    "NodeUnreachable",
    "OutOfGas",
    "PendingTx",
    "Reason",
    "registry_artifact",
    "RegistryClient",
    "RevertDecoder",
    "StatusRecord",
    "TransactionDropped",
    "TransactionSender",
    "TxResult",
    "WrongChainId",
]
