"""Chain errors a caller can act on: each says what went wrong and, where it helps, what to do."""

from __future__ import annotations


class ChainError(Exception):
    """Base class of everything the chain client raises."""


class NodeUnreachable(ChainError):
    def __init__(self, urls: list[str], cause: Exception | None = None):
        self.urls = list(urls)
        detail = f": {cause}" if cause else ""
        super().__init__(
            f"no chain node answers at {', '.join(self.urls)}{detail}; is the node running (`certledger chain status`)?"
        )


class WrongChainId(ChainError):
    def __init__(self, url: str, expected: int, actual: int):
        self.expected, self.actual = expected, actual
        super().__init__(f"the node at {url} serves chain id {actual}, but the configuration expects {expected}")


class ContractReverted(ChainError):
    """A call or transaction reverted with a custom error of our contracts (or a panic/string)."""

    def __init__(self, function: str, error_name: str, args: dict | None = None, tx_hash: str | None = None):
        # `error_args`, not `args`: Exception.args is the message tuple.
        self.function, self.error_name, self.error_args, self.tx_hash = function, error_name, args or {}, tx_hash
        shown = ", ".join(f"{k}={_show(v)}" for k, v in self.error_args.items())
        where = f" (tx {tx_hash})" if tx_hash else ""
        super().__init__(f"{function} reverted: {error_name}({shown}){where}")


class OutOfGas(ChainError):
    def __init__(self, function: str, gas_limit: int, tx_hash: str):
        self.function, self.gas_limit, self.tx_hash = function, gas_limit, tx_hash
        super().__init__(f"{function} ran out of gas (limit {gas_limit}, tx {tx_hash})")


class TransactionDropped(ChainError):
    """Sent, but no receipt appeared in time: the node dropped or never mined it."""

    def __init__(self, function: str, tx_hash: str, waited_s: float):
        self.function, self.tx_hash = function, tx_hash
        super().__init__(f"{function}: no receipt for tx {tx_hash} after {waited_s:.0f} s; it may have been dropped")


class InsufficientFunds(ChainError):
    def __init__(self, address: str, detail: str):
        self.address = address
        super().__init__(f"account {address} cannot pay for the transaction: {detail}")


def _show(value):
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return repr(value) if isinstance(value, str) else str(value)
