"""Sending transactions with a local key: nonces, EIP-1559 fees, receipts, confirmations, clear errors.

Submitting and waiting are separate steps so that a caller (the anchoring pipeline) can record the
transaction hash durably before it waits for the receipt.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import requests
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress, HexStr
from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted, TransactionNotFound, Web3RPCError

from ledger.chain.errors import ContractReverted, InsufficientFunds, NodeUnreachable, OutOfGas, TransactionDropped
from ledger.chain.revert_decoding import RevertDecoder


@dataclass(frozen=True)
class PendingTx:
    label: str
    tx_hash: str
    nonce: int
    gas_limit: int
    call: dict  # the transaction fields, to replay a revert for its reason


@dataclass(frozen=True)
class TxResult:
    label: str
    tx_hash: str
    block_number: int
    block_hash: str
    gas_used: int
    contract_address: str | None
    receipt: dict


class TransactionSender:
    """Signs and sends transactions from one local account. Thread-safe nonce allocation."""

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        decoder: RevertDecoder,
        confirmations: int = 1,
        receipt_timeout_s: float = 120.0,
        gas_margin: float = 1.2,
        poll_interval_s: float = 0.05,
    ):
        self.w3, self.account, self.decoder = w3, account, decoder
        self.confirmations = max(1, confirmations)
        self.receipt_timeout_s, self.gas_margin, self.poll_interval_s = receipt_timeout_s, gas_margin, poll_interval_s
        self._nonce: int | None = None
        self._chain_id_value: int | None = None
        self._lock = threading.Lock()

    @property
    def address(self) -> ChecksumAddress:
        return self.account.address

    def send(self, buildable, label: str | None = None) -> TxResult:
        return self.wait(self.submit(buildable, label))

    def submit(self, buildable, label: str | None = None) -> PendingTx:
        """Estimate, sign and broadcast `buildable` (a contract function call or constructor)."""
        label = label or getattr(buildable, "fn_name", None) or "deploy"
        gas_limit = int(self._estimate(buildable, label) * self.gas_margin) + 10_000
        fees = self._fees()
        with self._lock:
            for attempt in (1, 2):
                nonce = self._next_nonce()
                tx = buildable.build_transaction(
                    {"from": self.address, "nonce": nonce, "gas": gas_limit, "chainId": self._chain_id(), **fees}
                )
                signed = self.account.sign_transaction(tx)
                try:
                    tx_hash = self._rpc(lambda raw=signed.raw_transaction: self.w3.eth.send_raw_transaction(raw))
                except Web3RPCError as exc:
                    message = str(exc).lower()
                    if "nonce" in message and attempt == 1:
                        self._nonce = None  # someone else used this account: resynchronise once
                        continue
                    if "insufficient funds" in message or "lack of funds" in message:
                        raise InsufficientFunds(self.address, str(exc)) from exc
                    raise
                self._nonce = nonce + 1
                call = {k: tx[k] for k in ("from", "to", "data", "value") if k in tx}
                return PendingTx(label, "0x" + bytes(tx_hash).hex(), nonce, gas_limit, call)
        raise AssertionError("unreachable")

    def wait(self, pending: PendingTx, timeout_s: float | None = None) -> TxResult:
        """Wait for the receipt and the configured confirmations; explain a failure."""
        timeout_s = self.receipt_timeout_s if timeout_s is None else timeout_s
        try:
            receipt = self._rpc(
                lambda: self.w3.eth.wait_for_transaction_receipt(
                    HexStr(pending.tx_hash), timeout=timeout_s, poll_latency=self.poll_interval_s
                )
            )
        except TimeExhausted as exc:
            raise TransactionDropped(pending.label, pending.tx_hash, timeout_s) from exc
        if receipt["status"] != 1:
            self._explain_failure(pending, receipt)
        self._wait_confirmations(receipt["blockNumber"], timeout_s)
        return TxResult(
            label=pending.label,
            tx_hash=pending.tx_hash,
            block_number=receipt["blockNumber"],
            block_hash="0x" + bytes(receipt["blockHash"]).hex(),
            gas_used=receipt["gasUsed"],
            contract_address=receipt.get("contractAddress"),
            receipt=dict(receipt),
        )

    def receipt_of(self, tx_hash: str) -> dict | None:
        """The receipt if the transaction is mined, None if not (dropped or still pending)."""
        try:
            return dict(self._rpc(lambda: self.w3.eth.get_transaction_receipt(HexStr(tx_hash))))
        except TransactionNotFound:
            return None

    # --- internals ---

    def _estimate(self, buildable, label: str) -> int:
        try:
            return self._rpc(lambda: buildable.estimate_gas({"from": self.address}))
        except ContractLogicError as exc:
            name, args = self.decoder.decode(exc.data)
            raise ContractReverted(label, name, args) from None
        except Web3RPCError as exc:
            if "insufficient funds" in str(exc).lower():
                raise InsufficientFunds(self.address, str(exc)) from exc
            raise

    def _fees(self) -> dict:
        base = self._rpc(lambda: self.w3.eth.get_block("latest")).get("baseFeePerGas", 0)
        try:
            tip = self._rpc(lambda: self.w3.eth.max_priority_fee)
        except Web3RPCError:
            tip = Web3.to_wei(1, "gwei")
        # Twice the base fee keeps the transaction includable through six full blocks of fee rises.
        return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}

    def _next_nonce(self) -> int:
        if self._nonce is None:
            self._nonce = self._rpc(lambda: self.w3.eth.get_transaction_count(self.address, "pending"))
        return self._nonce

    def _chain_id(self) -> int:
        if self._chain_id_value is None:
            self._chain_id_value = self._rpc(lambda: self.w3.eth.chain_id)
        return self._chain_id_value

    def _explain_failure(self, pending: PendingTx, receipt) -> None:
        if receipt["gasUsed"] >= pending.gas_limit:
            raise OutOfGas(pending.label, pending.gas_limit, pending.tx_hash)
        try:  # replay at the failing block to learn the custom error
            self.w3.eth.call(pending.call, receipt["blockNumber"] - 1)  # type: ignore[arg-type]  # the sent tx's own fields
        except ContractLogicError as exc:
            name, args = self.decoder.decode(exc.data)
            raise ContractReverted(pending.label, name, args, pending.tx_hash) from None
        raise ContractReverted(pending.label, "UnknownError", {}, pending.tx_hash)

    def _wait_confirmations(self, block_number: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self._rpc(lambda: self.w3.eth.block_number) - block_number + 1 < self.confirmations:
            if time.monotonic() > deadline:
                raise TimeoutError(f"block {block_number} did not reach {self.confirmations} confirmations")
            time.sleep(self.poll_interval_s)

    def _rpc(self, call):
        try:
            return call()
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise NodeUnreachable([str(getattr(self.w3.provider, "endpoint_uri", "?"))], exc) from exc
