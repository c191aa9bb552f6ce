"""A small JSON-RPC client (http.client, keep-alive, one connection per thread) for the chain reads.

Verification reads a few contract views, blocks and logs. web3 and eth_account take a second or more to
import, which a person running `certledger verify` would wait for; this client needs only the standard
library. Transactions still go through web3 (``ledger.chain.transactions``).
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
from typing import Any
from urllib.parse import urlsplit

from ledger.chain.errors import ChainError, NodeUnreachable, WrongChainId


class RpcError(ChainError):
    """The node answered, but with an error or with something that is not a JSON-RPC answer."""


class JsonRpc:
    """JSON-RPC over HTTP(S) to one URL; safe to share between threads."""

    def __init__(self, url: str, timeout_s: float = 10.0):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ChainError(f"not an http(s) JSON-RPC URL: {url!r}")
        self.url = url
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout = timeout_s
        self._ids = itertools.count(1)
        self._local = threading.local()

    def call(self, method: str, params: list[Any]) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}).encode()
        status, data = self._post(body)
        if status != 200:
            raise RpcError(f"{self.url} answered HTTP {status} to {method}")
        try:
            reply = json.loads(data)
        except ValueError:
            raise RpcError(f"{self.url} answered {method} with something that is not JSON") from None
        if not isinstance(reply, dict):
            raise RpcError(f"{self.url} answered {method} with a JSON {type(reply).__name__}, not an object")
        if reply.get("error") is not None:
            error = reply["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise RpcError(f"{method} failed at {self.url}: {message}")
        if "result" not in reply:
            raise RpcError(f"{self.url} answered {method} without a result")
        return reply["result"]

    def _post(self, body: bytes) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"}
        for attempt in (0, 1):
            conn = getattr(self._local, "conn", None)
            reused = conn is not None
            if conn is None:
                cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
                conn = self._local.conn = cls(self._host, self._port, timeout=self._timeout)
            try:
                conn.request("POST", self._path, body, headers)
                response = conn.getresponse()
                return response.status, response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                self._local.conn = None
                # a kept-alive connection the server closed meanwhile: one retry on a new one
                if not (reused and attempt == 0):
                    raise NodeUnreachable([self.url], exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover


def connect_rpc(rpc_urls: list[str] | str, expected_chain_id: int | None = None, timeout_s: float = 10.0) -> JsonRpc:
    """The first URL that answers eth_chainId (as ``ledger.chain.connect`` does for web3); another chain is refused."""
    urls = [rpc_urls] if isinstance(rpc_urls, str) else list(rpc_urls)
    last: Exception | None = None
    for url in urls:
        rpc = JsonRpc(url, timeout_s)
        try:
            chain_id = int(rpc.call("eth_chainId", []), 16)
        except (ChainError, TypeError, ValueError) as exc:  # refused, timeout, garbage: try the next URL
            last = exc
            continue
        if expected_chain_id is not None and chain_id != expected_chain_id:
            raise WrongChainId(url, expected_chain_id, chain_id)
        return rpc
    raise NodeUnreachable(urls, last)


def rpc_reachable(rpc_urls: list[str] | tuple[str, ...], timeout_s: float = 2.0) -> bool:
    """Whether any of ``rpc_urls`` answers ``eth_blockNumber`` within ``timeout_s`` (for monitoring:
    a node that accepts connections but no longer answers counts as down)."""
    for url in rpc_urls:
        try:
            JsonRpc(url, timeout_s).call("eth_blockNumber", [])
            return True
        except ChainError:
            continue
    return False


__all__ = ["JsonRpc", "RpcError", "connect_rpc", "rpc_reachable"]
