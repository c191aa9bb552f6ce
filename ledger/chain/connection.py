"""Connecting to an EVM JSON-RPC node: first answering URL wins, chain id checked."""

from __future__ import annotations

from web3 import Web3

from ledger.chain.errors import NodeUnreachable, WrongChainId


def connect(rpc_urls: list[str] | str, expected_chain_id: int | None = None, timeout_s: float = 10.0) -> Web3:
    """Return a Web3 bound to the first URL that answers; refuse a node of another chain."""
    urls = [rpc_urls] if isinstance(rpc_urls, str) else list(rpc_urls)
    last: Exception | None = None
    for url in urls:
        # Retries are ours to decide (fallback URLs), not the provider's: fail fast per URL.
        provider = Web3.HTTPProvider(url, request_kwargs={"timeout": timeout_s}, exception_retry_configuration=None)
        w3 = Web3(provider)
        try:
            chain_id = w3.eth.chain_id
        except Exception as exc:  # connection refused, timeout, garbage: try the next URL
            last = exc
            continue
        if expected_chain_id is not None and chain_id != expected_chain_id:
            raise WrongChainId(url, expected_chain_id, chain_id)
        return w3
    raise NodeUnreachable(urls, last)


__all__ = ["connect"]
