"""Deploying the registry and the ledger."""

from __future__ import annotations

from web3 import Web3

from ledger.chain.artifacts import ledger_artifact, registry_artifact
from ledger.chain.transactions import TransactionSender
from ledger.protocol.deployment import Deployment


def deployment_is_current(w3: Web3, deployment: Deployment) -> bool:
    """Whether ``deployment`` is a live pair of the contracts this software ships: the registry's
    code is exactly the shipped runtime code, and the ledger's has the shipped length (its only
    immutable, the registry address, fills 32 bytes in place) and names that registry. A deployment
    of an older protocol version (v1 had no agency namespaces) is not."""
    registry_code = bytes(w3.eth.get_code(Web3.to_checksum_address(deployment.registry)))
    ledger_code = bytes(w3.eth.get_code(Web3.to_checksum_address(deployment.ledger)))
    if registry_code != bytes.fromhex(registry_artifact().deployed_bytecode.removeprefix("0x")):
        return False
    if len(ledger_code) != len(bytes.fromhex(ledger_artifact().deployed_bytecode.removeprefix("0x"))):
        return False
    ledger = w3.eth.contract(address=Web3.to_checksum_address(deployment.ledger), abi=ledger_artifact().abi)
    return ledger.functions.registry().call().lower() == deployment.registry.lower()


def deploy_contracts(sender: TransactionSender, governance: str | None = None) -> Deployment:
    """Deploy the registry (admin: `governance`, default the sender) and a ledger bound to it."""
    w3 = sender.w3
    admin = Web3.to_checksum_address(governance or sender.address)
    reg = registry_artifact()
    registry_tx = sender.send(
        w3.eth.contract(abi=reg.abi, bytecode=reg.bytecode).constructor(admin), "deploy CertRegistry"
    )
    led = ledger_artifact()
    ledger_tx = sender.send(
        w3.eth.contract(abi=led.abi, bytecode=led.bytecode).constructor(registry_tx.contract_address),
        "deploy CertLedger",
    )
    return Deployment(
        chain_id=w3.eth.chain_id,
        registry=registry_tx.contract_address,  # type: ignore[arg-type]  # a creation receipt has the address
        ledger=ledger_tx.contract_address,  # type: ignore[arg-type]  # (as above)
        block=registry_tx.block_number,
        registry_tx=registry_tx.tx_hash,
        ledger_tx=ledger_tx.tx_hash,
    )
