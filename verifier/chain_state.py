"""Reading the public chain state a verification needs, with a cache that stays truthful.

Anchors are immutable once final (`finality_depth` blocks deep) and are never fetched twice.
Statuses, keys and permissions can change: when new blocks arrive, the cache reads their events and
drops exactly the entries they touch; if that read fails or the chain reorganised, it drops them all.
"""
from __future__ import annotations

import threading
import time
from typing import Protocol

import requests

from ledger.chain import ChainError, LedgerClient, RegistryClient, connect
from ledger.chain.records import AnchorRecord, KeyRecord, StatusRecord

from .trust import TrustedDeployment


class ChainUnavailable(Exception):
    """The chain could not be read: the verifier cannot decide (never a pass)."""


class ChainReader(Protocol):
    def anchor_of(self, d: TrustedDeployment, root: bytes) -> AnchorRecord: ...
    def status_of(self, d: TrustedDeployment, digest: bytes) -> StatusRecord: ...
    def root_status_of(self, d: TrustedDeployment, root: bytes) -> StatusRecord: ...
    def key_of(self, d: TrustedDeployment, public_key: bytes) -> KeyRecord: ...
    def is_permitted(self, d: TrustedDeployment, agency_id: bytes, type_id: bytes) -> bool: ...


class RpcChainReader:
    """Reads views over JSON-RPC; one connection per chain id, with fallback URLs."""

    def __init__(self, rpc_urls: dict[int, list[str]], timeout_s: float = 5.0):
        self._urls = rpc_urls
        self._timeout = timeout_s
        self._clients: dict[TrustedDeployment, tuple[LedgerClient, RegistryClient]] = {}
        self._lock = threading.Lock()

    def clients(self, d: TrustedDeployment) -> tuple[LedgerClient, RegistryClient]:
        with self._lock:
            if d not in self._clients:
                urls = self._urls.get(d.chain_id)
                if not urls:
                    raise ChainUnavailable(f"no RPC URL configured for chain {d.chain_id}")
                w3 = _guard(lambda: connect(urls, d.chain_id, self._timeout))
                self._clients[d] = (LedgerClient(w3, d.ledger), RegistryClient(w3, d.registry))
            return self._clients[d]

    def anchor_of(self, d, root):
        return _guard(lambda: self.clients(d)[0].anchor_of(root))

    def status_of(self, d, digest):
        return _guard(lambda: self.clients(d)[0].status_of(digest))

    def root_status_of(self, d, root):
        return _guard(lambda: self.clients(d)[0].root_status_of(root))

    def key_of(self, d, public_key):
        return _guard(lambda: self.clients(d)[1].key_of(public_key))

    def is_permitted(self, d, agency_id, type_id):
        return _guard(lambda: self.clients(d)[1].is_permitted(agency_id, type_id))

    def head(self, d) -> tuple[int, bytes]:
        w3 = self.clients(d)[0].w3
        block = _guard(lambda: w3.eth.get_block("latest"))
        return block["number"], bytes(block["hash"])

    def block_hash(self, d, number: int) -> bytes:
        w3 = self.clients(d)[0].w3
        return bytes(_guard(lambda: w3.eth.get_block(number))["hash"])

    def events(self, d, from_block: int, to_block: int):
        ledger, registry = self.clients(d)
        return _guard(lambda: ledger.events(from_block, to_block) + registry.events(from_block, to_block))


def _guard(call):
    try:
        return call()
    except ChainUnavailable:
        raise
    except (ChainError, requests.RequestException, OSError, ValueError) as exc:
        raise ChainUnavailable(str(exc)) from exc


class _DeploymentCache:
    def __init__(self):
        self.anchors: dict[bytes, AnchorRecord] = {}
        self.statuses: dict[bytes, StatusRecord] = {}
        self.root_statuses: dict[bytes, StatusRecord] = {}
        self.keys: dict[bytes, KeyRecord] = {}
        self.permissions: dict[tuple[bytes, bytes], bool] = {}
        self.head: int | None = None
        self.head_hash: bytes | None = None
        self.checked_at = float("-inf")

    def drop_mutable(self):
        self.statuses.clear()
        self.root_statuses.clear()
        self.keys.clear()
        self.permissions.clear()


class CachedChainReader:
    def __init__(self, inner: RpcChainReader, finality_depth: int = 0, head_poll_s: float = 1.0, clock=time.monotonic):
        self.inner, self.finality_depth, self.head_poll_s, self.clock = inner, finality_depth, head_poll_s, clock
        self._caches: dict[TrustedDeployment, _DeploymentCache] = {}
        self._lock = threading.Lock()
        # For tests and benchmarks: how often facts and the head were actually read from the chain.
        self.fact_reads = 0
        self.head_reads = 0

    def anchor_of(self, d, root):
        cache = self._fresh(d)
        found = cache.anchors.get(root)
        if found is None:
            found = self._read(self.inner.anchor_of, d, root)
            if found.anchored and cache.head is not None and cache.head - found.block_number >= self.finality_depth:
                cache.anchors[root] = found
        return found

    def status_of(self, d, digest):
        return self._memo(self._fresh(d).statuses, digest, self.inner.status_of, d)

    def root_status_of(self, d, root):
        return self._memo(self._fresh(d).root_statuses, root, self.inner.root_status_of, d)

    def key_of(self, d, public_key):
        return self._memo(self._fresh(d).keys, public_key, self.inner.key_of, d)

    def is_permitted(self, d, agency_id, type_id):
        cache = self._fresh(d)
        key = (agency_id, type_id)
        if key not in cache.permissions:
            cache.permissions[key] = self._read(self.inner.is_permitted, d, agency_id, type_id)
        return cache.permissions[key]

    def refresh(self, d) -> None:
        """Look at the chain head now, whatever the poll interval."""
        self._fresh(d, force=True)

    # --- internals ---

    def _memo(self, table, key, read, d):
        value = table.get(key)
        if value is None:
            value = table[key] = self._read(read, d, key)
        return value

    def _read(self, read, *args):
        self.fact_reads += 1
        return read(*args)

    def _fresh(self, d, force: bool = False) -> _DeploymentCache:
        cache = self._caches.get(d)
        if cache is None:
            cache = self._caches.setdefault(d, _DeploymentCache())
        now = self.clock()
        if force or now - cache.checked_at >= self.head_poll_s:
            with self._lock:
                if force or now - cache.checked_at >= self.head_poll_s:
                    self._advance(d, cache)
                    cache.checked_at = now
        return cache

    def _advance(self, d, cache: _DeploymentCache) -> None:
        head, head_hash = self.inner.head(d)
        self.head_reads += 1
        if cache.head is None:
            cache.head, cache.head_hash = head, head_hash
            return
        if head == cache.head and head_hash == cache.head_hash:
            return
        reorganised = head < cache.head or self.inner.block_hash(d, cache.head) != cache.head_hash
        if reorganised:
            cache.drop_mutable()
            cache.anchors = {r: a for r, a in cache.anchors.items() if a.block_number <= head - self.finality_depth}
        else:
            try:
                events = self.inner.events(d, cache.head + 1, head)
            except ChainUnavailable:
                cache.drop_mutable()
            else:
                for event in events:
                    self._invalidate(cache, event)
        cache.head, cache.head_hash = head, head_hash

    @staticmethod
    def _invalidate(cache: _DeploymentCache, event) -> None:
        args = event.args
        if event.name == "StatusChanged":
            cache.statuses.pop(bytes(args["digest"]), None)
        elif event.name == "RootStatusChanged":
            cache.root_statuses.pop(bytes(args["root"]), None)
        elif event.name in ("KeyAdded", "KeyRevoked"):
            cache.keys.pop(bytes(args["publicKey"]), None)
        elif event.name == "TypePermissionChanged":
            cache.permissions.pop((bytes(args["agencyId"]), bytes(args["typeId"])), None)
