"""Reading the public chain state a verification needs (protocol v2), with a cache that stays truthful.

Every read names the agency whose namespace it reads (``agency_id`` = keccak256 of the code the
credential names): ``anchorOf(A, root)``, ``statusOf(A, digest)``, ``rootStatusOf(A, root)``,
``keyOf(A, key)``, ``isPermitted(A, type)``, ``agencyInfo(A)``. Nothing another agency writes can
change an answer about A, and every cache below is keyed the same way. Every read may raise
:class:`ChainUnavailable`, which a check turns into ERROR, never into a pass.

**The caching rule** (:class:`CachedChainReader`), per trusted deployment:

* An anchor ``(A, root)`` that is anchored and final (``finality_depth`` blocks below the head the
  cache has seen) is kept and never fetched again: a namespace's anchor cannot change once written.
  An absent or not yet final anchor is not kept.
* The mutable facts — statuses ``(A, digest)``, root statuses ``(A, root)``, keys ``(A, key)``,
  permissions ``(A, type)`` and agency information ``A`` — are kept until an event of a new block
  touches exactly that entry: StatusChanged(A, digest), RootStatusChanged(A, root),
  KeyAdded/KeyRevoked(A, key), TypePermissionChanged(A, type), AgencyRegistered/AgencyNameChanged/
  AgencyActiveChanged(A). An event of agency B never drops an entry of agency A.
* When the events of the new blocks cannot be read, every mutable fact is dropped; when the chain
  reorganised (the head went back, or the block the cache last saw is no longer on the chain), every
  mutable fact and every anchor above the new final height is dropped.
* A fact read while the cache moved to a newer head (another thread applied the new blocks' events
  meanwhile) is returned but not kept: it may predate an event that was already applied.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from ledger.chain.errors import ChainError
from ledger.chain.jsonrpc import connect_rpc
from ledger.chain.records import AgencyInfo, AnchorRecord, KeyRecord, StatusRecord
from ledger.chain.views import ContractViews
from ledger.protocol.deployment import Deployment


class ChainUnavailable(Exception):
    """The chain could not be read: the verifier cannot decide (never a pass)."""


class ChainReader(Protocol):
    """The chain reads of a verification, each in the namespace of one agency."""

    def anchor_of(self, d: Deployment, agency_id: bytes, root: bytes) -> AnchorRecord: ...
    def status_of(self, d: Deployment, agency_id: bytes, digest: bytes) -> StatusRecord: ...
    def root_status_of(self, d: Deployment, agency_id: bytes, root: bytes) -> StatusRecord: ...
    def key_of(self, d: Deployment, agency_id: bytes, public_key: bytes) -> KeyRecord: ...
    def is_permitted(self, d: Deployment, agency_id: bytes, type_id: bytes) -> bool: ...
    def agency_info(self, d: Deployment, agency_id: bytes) -> AgencyInfo: ...


class RpcChainReader:
    """Reads the contracts' views over JSON-RPC; one connection per deployment, with fallback URLs.

    Plain JSON-RPC (``ledger.chain.views``), not web3: `certledger verify` would otherwise spend most
    of its time importing web3."""

    def __init__(self, rpc_urls: dict[int, list[str]], timeout_s: float = 5.0):
        self.rpc_urls = rpc_urls
        self.timeout_s = timeout_s
        self._views: dict[Deployment, ContractViews] = {}
        self._lock = threading.Lock()

    def views(self, d: Deployment) -> ContractViews:
        with self._lock:
            if d not in self._views:
                urls = self.rpc_urls.get(d.chain_id)
                if not urls:
                    raise ChainUnavailable(f"no RPC URL configured for chain {d.chain_id}")
                rpc = _guard(lambda: connect_rpc(urls, d.chain_id, self.timeout_s))
                self._views[d] = ContractViews(rpc, d.ledger, d.registry)
            return self._views[d]

    def anchor_of(self, d, agency_id, root):
        return _guard(lambda: self.views(d).anchor_of(agency_id, root))

    def status_of(self, d, agency_id, digest):
        return _guard(lambda: self.views(d).status_of(agency_id, digest))

    def root_status_of(self, d, agency_id, root):
        return _guard(lambda: self.views(d).root_status_of(agency_id, root))

    def key_of(self, d, agency_id, public_key):
        return _guard(lambda: self.views(d).key_of(agency_id, public_key))

    def is_permitted(self, d, agency_id, type_id):
        return _guard(lambda: self.views(d).is_permitted(agency_id, type_id))

    def agency_info(self, d, agency_id):
        return _guard(lambda: self.views(d).agency_info(agency_id))

    # --- what the cache needs beyond the interface ---

    def head(self, d) -> tuple[int, bytes]:
        return _guard(lambda: self.views(d).block("latest"))

    def block_hash(self, d, number: int) -> bytes:
        return _guard(lambda: self.views(d).block(number))[1]

    def status_changes(self, d, from_block: int, to_block: int) -> list[bytes]:
        """``agency_id + digest`` of every StatusChanged event in the range."""
        events = _guard(lambda: self.views(d).ledger_events(from_block, to_block))
        return [bytes(e.args["agencyId"]) + bytes(e.args["digest"]) for e in events if e.name == "StatusChanged"]

    def events(self, d, from_block: int, to_block: int):
        """Both contracts' events in the range (``ledger.chain.records.ChainEvent``)."""
        return _guard(lambda: self.views(d).events(from_block, to_block))


def _guard(call):
    try:
        return call()
    except ChainUnavailable:
        raise
    except (ChainError, OSError, ValueError, TypeError, KeyError, ArithmeticError) as exc:
        # ValueError: an answer that does not decode (no contract at the address: a reset chain; dirty
        # padding; an absurd string length); TypeError, KeyError: a null or malformed JSON-RPC answer
        raise ChainUnavailable(str(exc) or type(exc).__name__) from exc


_NEVER_CHANGED = StatusRecord(0, 0, 0)

# The events that change a cached mutable fact, and the table entry each one drops.
_STATUS_EVENTS = {
    "StatusChanged": ("statuses", "digest"),
    "RootStatusChanged": ("root_statuses", "root"),
    "KeyAdded": ("keys", "publicKey"),
    "KeyRevoked": ("keys", "publicKey"),
    "TypePermissionChanged": ("permissions", "typeId"),
}
_AGENCY_EVENTS = frozenset({"AgencyRegistered", "AgencyNameChanged", "AgencyActiveChanged"})


class _DeploymentCache:
    def __init__(self) -> None:
        # every key starts with the agency id: (agency_id + root), (agency_id + digest), …
        self.anchors: dict[bytes, AnchorRecord] = {}
        self.statuses: dict[bytes, StatusRecord] = {}
        self.root_statuses: dict[bytes, StatusRecord] = {}
        self.keys: dict[bytes, KeyRecord] = {}
        self.permissions: dict[bytes, bool] = {}
        self.agencies: dict[bytes, AgencyInfo] = {}
        # prefetch_statuses: every credential whose status ever changed, up to `head`; None: not read
        self.touched: set[bytes] | None = None
        self.head: int | None = None
        self.head_hash: bytes | None = None
        self.epoch = 0  # bumped whenever the head moves: a read that straddles it is not kept
        self.checked_at = float("-inf")

    def drop_mutable(self):
        self.touched = None
        self.statuses.clear()
        self.root_statuses.clear()
        self.keys.clear()
        self.permissions.clear()
        self.agencies.clear()


class CachedChainReader:
    """A :class:`ChainReader` over :class:`RpcChainReader` that keeps what it read (rule: module docstring).

    The head is looked at no more often than every ``head_poll_s`` (``refresh`` forces a look)."""

    def __init__(self, inner: RpcChainReader, finality_depth: int = 0, head_poll_s: float = 1.0, clock=time.monotonic):
        self.inner, self.finality_depth, self.head_poll_s, self.clock = inner, finality_depth, head_poll_s, clock
        self._caches: dict[Deployment, _DeploymentCache] = {}
        self._lock = threading.Lock()
        # For tests and benchmarks: how often facts and the head were actually read from the chain.
        self.fact_reads = 0
        self.head_reads = 0

    def anchor_of(self, d, agency_id, root):
        cache = self._fresh(d)
        key = bytes(agency_id) + bytes(root)
        found = cache.anchors.get(key)
        if found is None:
            epoch = cache.epoch
            found = self._read(self.inner.anchor_of, d, agency_id, root)
            with self._lock:
                if (
                    found.anchored
                    and cache.epoch == epoch
                    and cache.head is not None
                    and cache.head - found.block_number >= self.finality_depth
                ):
                    cache.anchors[key] = found
        return found

    def status_of(self, d, agency_id, digest):
        cache = self._fresh(d)
        key = bytes(agency_id) + bytes(digest)
        touched = cache.touched
        if touched is not None and key not in touched:
            return _NEVER_CHANGED  # what statusOf answers for storage never written
        return self._memo(cache, cache.statuses, key, self.inner.status_of, d, agency_id, digest)

    def prefetch_statuses(self, d) -> bool:
        """Read once which credentials' statuses ever changed (the StatusChanged events from the
        deployment's block to the head): every other credential is active, never changed, and its
        status needs no read of its own — the one read no two bundles share. Kept as events arrive;
        dropped (reads again, one per credential) on a reorganisation or when events cannot be read.
        False when the events could not be read."""
        cache = self._fresh(d, force=True)
        with self._lock:
            head, epoch = cache.head, cache.epoch
        if head is None:
            return False
        try:
            touched = set(self.inner.status_changes(d, d.block, head))
        except ChainUnavailable:
            return False
        with self._lock:
            if cache.epoch != epoch:  # blocks were applied meanwhile: the scan may miss their events
                return False
            cache.touched = touched
        return True

    def root_status_of(self, d, agency_id, root):
        cache = self._fresh(d)
        return self._memo(
            cache, cache.root_statuses, bytes(agency_id) + bytes(root), self.inner.root_status_of, d, agency_id, root
        )

    def key_of(self, d, agency_id, public_key):
        cache = self._fresh(d)
        return self._memo(
            cache, cache.keys, bytes(agency_id) + bytes(public_key), self.inner.key_of, d, agency_id, public_key
        )

    def is_permitted(self, d, agency_id, type_id):
        cache = self._fresh(d)
        return self._memo(
            cache, cache.permissions, bytes(agency_id) + bytes(type_id), self.inner.is_permitted, d, agency_id, type_id
        )

    def agency_info(self, d, agency_id):
        cache = self._fresh(d)
        return self._memo(cache, cache.agencies, bytes(agency_id), self.inner.agency_info, d, agency_id)

    def refresh(self, d) -> None:
        """Look at the chain head now, whatever the poll interval."""
        self._fresh(d, force=True)

    def export(self) -> dict:
        """What the cache holds, per deployment (facts, and the head they are true at): picklable,
        to :meth:`seed` the cache of another reader, such as a worker process's."""
        with self._lock:
            return {
                d: {k: v.copy() if isinstance(v, (dict, set)) else v for k, v in vars(c).items()}
                | {"checked_at": float("-inf")}
                for d, c in self._caches.items()
            }

    def seed(self, exported: dict) -> None:
        """Start from what :meth:`export` gave: the first read looks at the chain head and drops
        what the blocks since then changed, exactly as if this reader had read those facts itself."""
        with self._lock:
            for d, fields in exported.items():
                cache = _DeploymentCache()
                vars(cache).update(fields)
                self._caches[d] = cache

    # --- internals ---

    def _memo(self, cache: _DeploymentCache, table: dict, key: bytes, read, *args):
        value = table.get(key)
        if value is None:
            epoch = cache.epoch
            value = self._read(read, *args)
            with self._lock:
                if cache.epoch == epoch:  # no block's events were applied while we read
                    table[key] = value
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
        """Called under the lock. Moves the cache to the chain's head, dropping what the new blocks changed."""
        head, head_hash = self.inner.head(d)
        self.head_reads += 1
        if cache.head is None:
            cache.head, cache.head_hash = head, head_hash
            cache.epoch += 1
            return
        if head == cache.head and head_hash == cache.head_hash:
            return
        cache.epoch += 1
        reorganised = head < cache.head or self.inner.block_hash(d, cache.head) != cache.head_hash
        if reorganised:
            cache.drop_mutable()
            final = head - self.finality_depth
            cache.anchors = {k: a for k, a in cache.anchors.items() if a.block_number <= final}
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
        """Drops the one entry the event changes, in its agency's namespace."""
        args = event.args
        if event.name in _AGENCY_EVENTS:
            cache.agencies.pop(bytes(args["agencyId"]), None)
            return
        found = _STATUS_EVENTS.get(event.name)
        if found is not None:
            table, field = found
            key = bytes(args["agencyId"]) + bytes(args[field])
            getattr(cache, table).pop(key, None)
            if table == "statuses" and cache.touched is not None:
                cache.touched.add(key)


__all__ = ["CachedChainReader", "ChainReader", "ChainUnavailable", "RpcChainReader"]
