"""The chain client: deploy, call and read the CertLedger contracts on any EVM JSON-RPC node."""

from ledger.chain.artifacts import ledger_artifact, registry_artifact
from ledger.chain.connection import connect
from ledger.chain.contracts import LedgerClient, RegistryClient
from ledger.chain.deploy import Deployment, deploy_contracts, deployment_is_current
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
from ledger.chain.revert_decoding import RevertDecoder
from ledger.chain.transactions import PendingTx, TransactionSender, TxResult


def make_sender(w3, account, confirmations: int = 1) -> TransactionSender:
    """A sender whose revert decoder knows both contracts' errors."""
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
