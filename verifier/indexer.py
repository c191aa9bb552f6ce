"""The chain indexer: follows the ledger's and the registry's events (protocol v2) into the verifier's
database, and a ``ChainReader`` served from that index, so that steady-state verification makes no
RPC call.

**Indexing** (:class:`Indexer`, one round at a time under a lock shared by every process on the
database): for each trusted deployment, from its deployment block up to the chain head, read the
events of both contracts (``eth_getLogs``, chunked), stamp each with its block's timestamp (the
anchor time; a status's "since"), and store them in chain order with the agency whose namespace
they belong to (every v2 event names it). The hash of every recent indexed block is kept
(``reorg_window`` blocks). Each round first checks that the block the index ends on is still on the
chain; when it is not (a reorganisation), it walks back through the kept hashes to the last block
still on the chain, deletes every fact above it, bumps the deployment's ``generation`` (readers
reload) and indexes the new branch. A reorganisation deeper than the window re-indexes the
deployment from scratch. A round reads the target block's hash before and after reading the logs
and checks every log's block hash, so a reorganisation during a round is never half-recorded: the
round is abandoned and retried. An index written by an earlier format (v1) is not read: see
:mod:`verifier.index_db` — it is rebuilt from the deployment block.

**Reading** (:class:`IndexedChainReader`): each process holds the facts in memory, synchronised from
the database (new rows by id; everything after a rollback) by a background thread every poll
interval and on demand. Every fact is kept in its agency's namespace — anchors (agency, root),
statuses (agency, digest), root statuses (agency, root), keys (agency, key), permissions (agency,
type), and per agency its code, on-chain name (AgencyRegistered, then AgencyNameChanged) and active
flag — so an event of agency B can never change an answer about agency A. Answers are exactly what
the contracts' views answer (the fold of the events in chain order), with one rule for freshness and
finality: a fact that takes validity away (a revocation, a suspension, a batch revocation, a key
revocation, a permission withdrawn, an agency deactivated) counts as soon as it is indexed; every
other fact (an anchor, a reinstatement, a key, a permission, an agency's registration, name or
reactivation) counts once it has ``confirmations`` blocks (1: the block holding it). The reader
fails closed: while the index is not caught up with the chain, or has not looked at it for
``max_staleness_s``, every read raises :class:`ChainUnavailable` (the report says ERROR, never VALID).

:class:`IndexService` runs the poll loop in a process and offers :meth:`IndexService.catch_up`.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import delete, text
from sqlmodel import Session, col, select
from web3 import Web3
from web3.exceptions import BlockNotFound

from ledger.chain import ChainError, connect
from ledger.chain.artifacts import ledger_artifact, registry_artifact
from ledger.chain.records import AgencyInfo, AnchorRecord, KeyRecord, StatusRecord
from ledger.verification.chain_state import ChainUnavailable
from ledger.verification.trust import TrustedDeployment
from verifier.index_db import IndexCursor, IndexedBlock, IndexedEvent, from_i64, to_i64
from verifier.settings import DeploymentRoot

log = logging.getLogger("verifier.indexer")

ACTIVE = 0

# The events the index keeps; everything else (AccessControl's role events) is skipped.
LEDGER_EVENTS = ("Anchored", "StatusChanged", "RootStatusChanged")
REGISTRY_EVENTS = (
    "AgencyRegistered",
    "AgencyNameChanged",
    "AgencyActiveChanged",
    "OperatorAdded",
    "OperatorRemoved",
    "KeyAdded",
    "KeyRevoked",
    "TypePermissionChanged",
)


def deployment_key(d: TrustedDeployment | DeploymentRoot) -> str:
    return f"eip155:{d.chain_id}:{d.ledger.lower()}/{d.registry.lower()}"


class ReorganisedDuringRound(Exception):
    """The chain changed under a round; nothing of it was stored, the next round starts again."""


# ----------------------------------------------------------------------------------------- RPC side


@dataclass(frozen=True)
class BlockInfo:
    number: int
    hash: str
    timestamp: int


@dataclass(frozen=True)
class DecodedEvent:
    name: str
    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str
    agency_id: bytes  # the namespace (every v2 event names its agency)
    key: bytes = b""  # root, digest, public key or type id; b"" for agency and operator events
    value: int = 0  # count, state, validFrom, revokedAt, permitted, index, active
    reason: int = 0
    extra: str = ""  # agency code (AgencyRegistered), operator address (Anchored, Operator*)
    agency_name: str = ""  # AgencyRegistered, AgencyNameChanged


def decode_args(name: str, args, common: dict) -> DecodedEvent | None:
    """One event's arguments (as web3 decodes them) as the row the index stores; None: not kept."""
    common = {**common, "agency_id": bytes(args["agencyId"])}
    if name == "Anchored":
        return DecodedEvent(key=bytes(args["root"]), value=args["count"], extra=str(args["operator"]).lower(), **common)
    if name == "StatusChanged":
        return DecodedEvent(key=bytes(args["digest"]), value=args["state"], reason=args["reason"], **common)
    if name == "RootStatusChanged":
        return DecodedEvent(key=bytes(args["root"]), value=args["state"], reason=args["reason"], **common)
    if name == "AgencyRegistered":
        return DecodedEvent(value=args["index"], extra=args["code"], agency_name=args["name"], **common)
    if name == "AgencyNameChanged":
        return DecodedEvent(agency_name=args["name"], **common)
    if name == "AgencyActiveChanged":
        return DecodedEvent(value=int(args["active"]), **common)
    if name in ("OperatorAdded", "OperatorRemoved"):
        return DecodedEvent(value=int(name == "OperatorAdded"), extra=str(args["operator"]).lower(), **common)
    if name == "KeyAdded":
        return DecodedEvent(key=bytes(args["publicKey"]), value=args["validFrom"], **common)
    if name == "KeyRevoked":
        return DecodedEvent(key=bytes(args["publicKey"]), value=args["revokedAt"], **common)
    if name == "TypePermissionChanged":
        return DecodedEvent(key=bytes(args["typeId"]), value=int(args["permitted"]), **common)
    return None


class _EventDecoder:
    """Decodes the logs of one deployment's two contracts with their ABIs."""

    def __init__(self, w3: Web3, root: DeploymentRoot):
        self.addresses = {}
        self.by_topic = {}
        for address, artifact, names in (
            (root.ledger, ledger_artifact(), LEDGER_EVENTS),
            (root.registry, registry_artifact(), REGISTRY_EVENTS),
        ):
            checksum = Web3.to_checksum_address(address)
            contract = w3.eth.contract(address=checksum, abi=artifact.abi)
            self.addresses[checksum.lower()] = checksum
            for item in artifact.abi:
                if item["type"] == "event" and item["name"] in names:
                    signature = f"{item['name']}({','.join(p['type'] for p in item['inputs'])})"
                    self.by_topic[(checksum.lower(), bytes(Web3.keccak(text=signature)))] = (
                        item["name"],
                        getattr(contract.events, item["name"])(),
                    )

    def decode(self, log_entry) -> DecodedEvent | None:
        topics = log_entry["topics"]
        if not topics:
            return None
        found = self.by_topic.get((str(log_entry["address"]).lower(), bytes(topics[0])))
        if found is None:
            return None
        name, event = found
        args = event.process_log(log_entry)["args"]
        return decode_args(
            name,
            args,
            {
                "name": name,
                "block_number": log_entry["blockNumber"],
                "log_index": log_entry["logIndex"],
                "block_hash": "0x" + bytes(log_entry["blockHash"]).hex(),
                "tx_hash": "0x" + bytes(log_entry["transactionHash"]).hex(),
            },
        )


class ChainSource:
    """JSON-RPC access for one chain: the first answering URL, the next one when it fails."""

    def __init__(self, chain_id: int, urls: Iterable[str], timeout_s: float = 5.0):
        self.chain_id, self.urls, self.timeout_s = chain_id, list(urls), timeout_s
        self._w3: Web3 | None = None
        self._decoders: dict[str, _EventDecoder] = {}
        self.calls = 0  # JSON-RPC calls made (tests and benchmarks count them)

    def _web3(self) -> Web3:
        if self._w3 is None:
            if not self.urls:
                raise ChainUnavailable(f"no RPC URL configured for chain {self.chain_id}")
            self._w3 = _guard(lambda: connect(self.urls, self.chain_id, self.timeout_s))
            self._decoders.clear()
        return self._w3

    def _call(self, fn):
        w3 = self._web3()
        self.calls += 1
        try:
            return _guard(lambda: fn(w3))
        except ChainUnavailable:
            self._w3 = None  # reconnect next time, trying every URL again
            raise

    def head_number(self) -> int:
        return self._call(lambda w3: w3.eth.block_number)

    def block(self, number: int) -> BlockInfo | None:
        def get(w3):
            try:
                b = w3.eth.get_block(number)
            except BlockNotFound:
                return None
            return BlockInfo(b["number"], "0x" + bytes(b["hash"]).hex(), b["timestamp"])

        return self._call(get)

    def events(self, root: DeploymentRoot, from_block: int, to_block: int) -> list[DecodedEvent]:
        key = deployment_key(root)
        decoder = self._decoders.get(key)
        if decoder is None:
            decoder = self._decoders[key] = _EventDecoder(self._web3(), root)
        addresses = list(decoder.addresses.values())
        logs = self._call(
            lambda w3: w3.eth.get_logs({"address": addresses, "fromBlock": from_block, "toBlock": to_block})
        )
        out = [e for e in (decoder.decode(entry) for entry in logs) if e is not None]
        out.sort(key=lambda e: (e.block_number, e.log_index))
        return out


def _guard(call):
    try:
        return call()
    except ChainUnavailable:
        raise
    except (ChainError, requests.RequestException, OSError, ValueError) as exc:
        raise ChainUnavailable(str(exc)) from exc


# ----------------------------------------------------------------------------------------- writing


class IndexLock:
    """One indexer at a time across the processes sharing a database (flock) and the threads of one."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread_lock = threading.Lock()
        self._fd: int | None = None

    def acquire(self, timeout_s: float | None = 0.0) -> bool:
        """Take the lock; ``timeout_s`` 0: only if free now; None: wait as long as it takes."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        if not self._thread_lock.acquire(timeout=-1 if timeout_s is None else max(timeout_s, 0)):
            return False
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return True
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    os.close(fd)
                    self._thread_lock.release()
                    return False
                time.sleep(0.01)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        self._thread_lock.release()


def lock_path_for(database_url: str) -> Path:
    """Next to a SQLite file; otherwise in the temporary directory, named after the URL."""
    prefix = "sqlite:///"
    if database_url.startswith(prefix) and len(database_url) > len(prefix):
        return Path(database_url[len(prefix) :] + ".indexer-lock")
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"certledger-verifier-{digest}.indexer-lock"


@dataclass
class RoundResult:
    head: int
    chain_head: int
    events: int = 0
    rolled_back_to: int | None = None  # the block a reorganisation rolled the index back to

    @property
    def caught_up(self) -> bool:
        return self.head >= self.chain_head


class Indexer:
    """Writes the index. Call :meth:`run` (or :meth:`round`) while holding the :class:`IndexLock`."""

    def __init__(
        self,
        engine,
        roots: Iterable[DeploymentRoot],
        rpc_urls: Mapping[int, Iterable[str]],
        *,
        reorg_window: int = 64,
        log_range: int = 5_000,
        rpc_timeout_s: float = 5.0,
        clock=time.time,
    ):
        self.engine = engine
        self.roots = list(roots)
        self.reorg_window, self.log_range, self.clock = reorg_window, log_range, clock
        self.sources = {cid: ChainSource(cid, urls, rpc_timeout_s) for cid, urls in rpc_urls.items()}
        self.rollbacks = 0

    def source(self, chain_id: int) -> ChainSource:
        if chain_id not in self.sources:
            self.sources[chain_id] = ChainSource(chain_id, [])
        return self.sources[chain_id]

    def run(self, root: DeploymentRoot, max_rounds: int = 1_000) -> RoundResult:
        """Rounds until the index has caught up with the chain head (or ``max_rounds``)."""
        result = None
        for _ in range(max_rounds):
            try:
                result = self.round(root)
            except ReorganisedDuringRound as exc:
                log.info("chain %s changed during an indexing round (%s); starting again", root.chain_id, exc)
                continue
            if result.caught_up and result.rolled_back_to is None:
                return result
        if result is None:
            raise ChainUnavailable(f"the chain {root.chain_id} kept reorganising during indexing")
        return result

    def round(self, root: DeploymentRoot) -> RoundResult:
        key = deployment_key(root)
        src = self.source(root.chain_id)
        with Session(self.engine) as s:
            cur = s.get(IndexCursor, key)
            if cur is None:
                cur = IndexCursor(deployment=key, start_block=root.from_block, head=root.from_block - 1)
                s.add(cur)
                s.commit()
                s.refresh(cur)
            chain_head = src.head_number()
            target = min(chain_head, cur.head + self.log_range)
            target_block = src.block(target) if target >= cur.start_block else None
            if target >= cur.start_block and target_block is None:
                raise ReorganisedDuringRound(f"block {target} vanished")
            # Is the block the index ends on still on the chain?
            if cur.head >= cur.start_block:
                on_chain = target_block if target == cur.head else src.block(cur.head)
                if on_chain is None or on_chain.hash != cur.head_hash:
                    back_to = self._roll_back(s, cur, src)
                    s.commit()
                    self.rollbacks += 1
                    log.warning("chain %s reorganised: index rolled back to block %s", root.chain_id, back_to)
                    return RoundResult(cur.head, chain_head, rolled_back_to=back_to)
            if target <= cur.head:
                cur.chain_head, cur.synced_at = chain_head, self.clock()
                s.add(cur)
                s.commit()
                return RoundResult(cur.head, chain_head)

            # target > cur.head >= start_block - 1, so target_block was fetched (and found) above
            assert target_block is not None
            events = src.events(root, cur.head + 1, target)
            blocks = {target: target_block}
            for e in events:
                if e.block_number not in blocks:
                    b = src.block(e.block_number)
                    if b is None:
                        raise ReorganisedDuringRound(f"block {e.block_number} vanished")
                    blocks[e.block_number] = b
                if blocks[e.block_number].hash != e.block_hash:
                    raise ReorganisedDuringRound(f"block {e.block_number} changed")
            again = src.block(target)
            if again is None or again.hash != target_block.hash:
                raise ReorganisedDuringRound(f"block {target} changed")

            for e in events:
                s.add(
                    IndexedEvent(
                        deployment=key,
                        block_number=e.block_number,
                        log_index=e.log_index,
                        tx_hash=e.tx_hash,
                        timestamp=blocks[e.block_number].timestamp,
                        name=e.name,
                        agency_id=e.agency_id,
                        key=e.key,
                        value=to_i64(e.value),
                        reason=e.reason,
                        extra=e.extra,
                        agency_name=e.agency_name,
                    )
                )
            for b in blocks.values():
                s.merge(IndexedBlock(deployment=key, number=b.number, hash=b.hash, timestamp=b.timestamp))
            s.exec(
                delete(IndexedBlock).where(
                    col(IndexedBlock.deployment) == key, col(IndexedBlock.number) < target - self.reorg_window
                )
            )
            cur.head, cur.head_hash = target, target_block.hash
            cur.chain_head, cur.synced_at = chain_head, self.clock()
            s.add(cur)
            s.commit()
            return RoundResult(target, chain_head, events=len(events))

    def _roll_back(self, s: Session, cur: IndexCursor, src: ChainSource) -> int:
        """Back to the newest kept block still on the chain (from scratch when none is); returns
        the block the index now ends on."""
        kept = s.exec(
            select(IndexedBlock)
            .where(col(IndexedBlock.deployment) == cur.deployment, col(IndexedBlock.number) <= cur.head)
            .order_by(col(IndexedBlock.number).desc())
        ).all()
        ancestor = None
        for b in kept:
            on_chain = src.block(b.number)
            if on_chain is not None and on_chain.hash == b.hash:
                ancestor = b
                break
        back_to = ancestor.number if ancestor else cur.start_block - 1
        s.exec(
            delete(IndexedEvent).where(
                col(IndexedEvent.deployment) == cur.deployment, col(IndexedEvent.block_number) > back_to
            )
        )
        s.exec(
            delete(IndexedBlock).where(
                col(IndexedBlock.deployment) == cur.deployment, col(IndexedBlock.number) > back_to
            )
        )
        cur.head, cur.head_hash = back_to, ancestor.hash if ancestor else ""
        cur.generation += 1
        s.add(cur)
        return back_to


# ----------------------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class _Fact:
    block: int
    timestamp: int
    value: int
    reason: int


@dataclass(frozen=True, slots=True)
class _AgencyFact:
    event: str
    block: int
    value: int
    code: str
    name: str


# Events keyed (agency, key) and the view's table for each; agency events are keyed by the agency.
_NAMESPACED = {
    "Anchored": "anchors",
    "StatusChanged": "statuses",
    "RootStatusChanged": "root_statuses",
    "KeyAdded": "keys_added",
    "KeyRevoked": "keys_revoked",
    "TypePermissionChanged": "permissions",
}
_AGENCY_EVENTS = frozenset({"AgencyRegistered", "AgencyNameChanged", "AgencyActiveChanged"})


@dataclass
class _View:
    """One deployment's facts in memory, as of the last synchronisation. Every table is keyed by the
    agency id followed by the fact's own key (root, digest, public key, type id): one namespace per agency."""

    generation: int
    last_id: int = 0
    head: int = -1
    chain_head: int = -1
    synced_at: float = 0.0
    anchors: dict = field(default_factory=dict)
    statuses: dict = field(default_factory=dict)
    root_statuses: dict = field(default_factory=dict)
    keys_added: dict = field(default_factory=dict)
    keys_revoked: dict = field(default_factory=dict)
    permissions: dict = field(default_factory=dict)
    agencies: dict = field(default_factory=dict)

    def apply(
        self,
        name: str,
        agency_id: bytes,
        key: bytes,
        block: int,
        timestamp: int,
        value: int,
        reason: int,
        extra: str,
        agency_name: str,
    ) -> None:
        table = _NAMESPACED.get(name)
        if table is not None:
            getattr(self, table).setdefault(agency_id + key, []).append(_Fact(block, timestamp, value, reason))
        elif name in _AGENCY_EVENTS:
            self.agencies.setdefault(agency_id, []).append(_AgencyFact(name, block, value, extra, agency_name))


_EVENT_COLUMNS = "id, block_number, timestamp, name, agency_id, key, value, reason, extra, agency_name"
_NOT_ANCHORED = AnchorRecord(0, 0, 0)
_NO_KEY = KeyRecord(0, 0)


class IndexedChainReader:
    """A :class:`ledger.verification.chain_state.ChainReader` answered from the index, in memory."""

    def __init__(
        self,
        engine,
        deployments: Iterable[TrustedDeployment | DeploymentRoot],
        *,
        confirmations: int = 1,
        max_staleness_s: float = 30.0,
        clock=time.time,
    ):
        self.engine = engine
        self.keys = {deployment_key(d) for d in deployments}
        self.confirmations, self.max_staleness_s, self.clock = confirmations, max_staleness_s, clock
        self._views: dict[str, _View] = {}
        self._keys_of: dict = {}  # TrustedDeployment -> its key (the hot path asks six times per bundle)
        self._lock = threading.Lock()
        self.synced_at_monotonic = float("-inf")

    # --- the ChainReader interface ---

    def anchor_of(self, d: TrustedDeployment, agency_id: bytes, root: bytes) -> AnchorRecord:
        view = self._view(d)
        visible = view.head - self.confirmations + 1
        for f in view.anchors.get(bytes(agency_id) + bytes(root), ()):
            if f.block <= visible:
                return AnchorRecord(f.timestamp, f.block, f.value)
        return _NOT_ANCHORED

    def status_of(self, d: TrustedDeployment, agency_id: bytes, digest: bytes) -> StatusRecord:
        view = self._view(d)
        return _fold_status(view.statuses.get(bytes(agency_id) + bytes(digest), ()), view.head - self.confirmations + 1)

    def root_status_of(self, d: TrustedDeployment, agency_id: bytes, root: bytes) -> StatusRecord:
        view = self._view(d)
        return _fold_status(
            view.root_statuses.get(bytes(agency_id) + bytes(root), ()), view.head - self.confirmations + 1
        )

    def key_of(self, d: TrustedDeployment, agency_id: bytes, public_key: bytes) -> KeyRecord:
        view = self._view(d)
        key = bytes(agency_id) + bytes(public_key)
        visible = view.head - self.confirmations + 1
        added = next((f for f in view.keys_added.get(key, ()) if f.block <= visible), None)
        if added is None:
            return _NO_KEY
        revoked_at = 0
        for f in view.keys_revoked.get(key, ()):  # takes validity away: counts at once (and only moves earlier)
            revoked_at = f.value
        return KeyRecord(added.value, revoked_at)

    def is_permitted(self, d: TrustedDeployment, agency_id: bytes, type_id: bytes) -> bool:
        view = self._view(d)
        visible = view.head - self.confirmations + 1
        permitted = False
        for f in view.permissions.get(bytes(agency_id) + bytes(type_id), ()):
            if not f.value or f.block <= visible:
                permitted = bool(f.value)
        return permitted

    def agency_info(self, d: TrustedDeployment, agency_id: bytes) -> AgencyInfo:
        view = self._view(d)
        return _fold_agency(
            bytes(agency_id), view.agencies.get(bytes(agency_id), ()), view.head - self.confirmations + 1
        )

    # --- beyond the interface ---

    def state(self) -> list[dict]:
        """What /healthz shows: per deployment, how far the index is and how fresh."""
        now = self.clock()
        out = []
        for key in sorted(self.keys):
            view = self._views.get(key)
            if view is None:
                out.append({"deployment": key, "ready": False})
                continue
            out.append(
                {
                    "deployment": key,
                    "indexedBlock": view.head,
                    "chainHead": view.chain_head,
                    "caughtUp": view.head >= view.chain_head,
                    "syncedAgoS": round(now - view.synced_at, 3),
                    "ready": self._problem(view, now) is None,
                }
            )
        return out

    def sync(self) -> None:
        """Load what the indexer wrote since the last call (everything, after a rollback)."""
        with self._lock, self.engine.connect() as conn:
            for key in self.keys:
                for _ in range(5):
                    if self._sync_one(conn, key):
                        break
        self.synced_at_monotonic = time.monotonic()

    # --- internals ---

    def _sync_one(self, conn, key: str) -> bool:
        def cursor():
            return conn.execute(
                text(
                    f"SELECT head, chain_head, generation, synced_at FROM {IndexCursor.__tablename__} "
                    "WHERE deployment = :k"
                ),
                {"k": key},
            ).first()

        before = cursor()
        if before is None:
            return True
        view = self._views.get(key)
        fresh = view is None or view.generation != before.generation
        if view is None or fresh:  # (the same test: a missing view is fresh)
            view = _View(generation=before.generation)
        rows = conn.execute(
            text(
                f"SELECT {_EVENT_COLUMNS} FROM {IndexedEvent.__tablename__} "
                "WHERE deployment = :k AND id > :last ORDER BY id"
            ),
            {"k": key, "last": view.last_id},
        ).all()
        after = cursor()
        if after.generation != view.generation:
            return False  # rolled back meanwhile: read again
        for row in rows:
            view.apply(
                row.name,
                bytes(row.agency_id),
                bytes(row.key),
                row.block_number,
                row.timestamp,
                from_i64(row.value),
                row.reason,
                row.extra,
                row.agency_name,
            )
            view.last_id = row.id
        view.head, view.chain_head, view.synced_at = after.head, after.chain_head, after.synced_at
        if fresh:
            self._views[key] = view  # swapped in whole: readers never see a half-loaded view
        return True

    def _view(self, d: TrustedDeployment) -> _View:
        key = self._keys_of.get(d)
        if key is None:
            key = self._keys_of[d] = deployment_key(d)
        view = self._views.get(key)
        if view is None:
            raise ChainUnavailable("the verifier's chain index is not ready yet (indexing has not completed)")
        problem = self._problem(view, self.clock())
        if problem:
            raise ChainUnavailable(problem)
        return view

    def _problem(self, view: _View, now: float) -> str | None:
        if view.head < view.chain_head:
            return f"the verifier's chain index is catching up (block {view.head} of {view.chain_head})"
        age = now - view.synced_at
        if age > self.max_staleness_s:
            return f"the verifier's chain index has not reached the chain for {age:.0f} s"
        return None


def _fold_status(facts, visible: int) -> StatusRecord:
    """statusOf / rootStatusOf: the last change, where a reinstatement waits for its confirmations and
    a suspension or revocation counts at once."""
    state = StatusRecord(ACTIVE, 0, 0)
    for f in facts:
        if f.value != ACTIVE or f.block <= visible:
            state = StatusRecord(f.value, f.reason, f.timestamp)
    return state


def _fold_agency(agency_id: bytes, facts, visible: int) -> AgencyInfo:
    """agencyInfo: code and name from AgencyRegistered, the name from each later AgencyNameChanged, the
    active flag (true at registration) from AgencyActiveChanged. A deactivation counts at once; the
    registration, a new name and a reactivation once confirmed. Unregistered: ("", "", false)."""
    code, name, active = "", "", False
    for f in facts:
        if f.event == "AgencyRegistered":
            if f.block > visible:
                break  # not yet confirmed: as if not registered (what follows is later still)
            code, name, active = f.code, f.name, True
        elif not code:
            continue
        elif f.event == "AgencyNameChanged" and f.block <= visible:
            name = f.name
        elif f.event == "AgencyActiveChanged" and (not f.value or f.block <= visible):
            active = bool(f.value)
    return AgencyInfo(agency_id, code, name, active)


# ----------------------------------------------------------------------------------------- running


class IndexService:
    """The poll loop of one process: index when due (whichever process holds the lock), then load
    what was indexed into this process's reader. ``catch_up`` does both now, for a request."""

    def __init__(
        self,
        indexer: Indexer,
        reader: IndexedChainReader,
        lock: IndexLock,
        poll_interval_s: float = 0.5,
        min_catch_up_interval_s: float = 0.2,
    ):
        self.indexer, self.reader, self.lock, self.poll_interval_s = indexer, reader, lock, poll_interval_s
        self.min_catch_up_interval_s = min_catch_up_interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._catch_up_lock = threading.Lock()
        self._last_round_started = 0.0
        self.last_error: str | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="certledger-indexer", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def tick(self, force: bool = False, wait_s: float = 0.0) -> bool:
        """One poll: index the deployments that are due (all of them when ``force``) if this
        process gets the lock, then synchronise the reader. True when the lock was had."""
        got = self.lock.acquire(wait_s)
        if got:
            try:
                self._last_round_started = time.time()
                self._index(force)
            finally:
                self.lock.release()
        try:
            self.reader.sync()
        except Exception as exc:  # noqa: BLE001 - the loop must survive a locked or missing database
            log.warning("could not load the chain index: %s", exc)
        return got

    def catch_up(self, since: float, timeout_s: float = 3.0) -> None:
        """Make sure the chain was looked at after ``since`` (a request's arrival time). Requests
        waiting together share one look; looks are at least ``min_catch_up_interval_s`` apart, so
        a flood of unknown roots costs the chain node a few calls a second, not one per request."""
        with self._catch_up_lock:
            if self._last_round_started >= since:
                self.reader.sync()
                return
            pause = self._last_round_started + self.min_catch_up_interval_s - time.time()
            if pause > 0:
                time.sleep(pause)
            self.tick(force=True, wait_s=timeout_s)

    def _index(self, force: bool) -> None:
        now = time.time()
        for root in self.indexer.roots:
            if not force and not self._due(root, now):
                continue
            try:
                self.indexer.run(root)
                self.last_error = None
            except ChainUnavailable as exc:
                self.last_error = str(exc)
                log.warning("cannot index chain %s: %s", root.chain_id, exc)

    def _due(self, root: DeploymentRoot, now: float) -> bool:
        with Session(self.indexer.engine) as s:
            cur = s.get(IndexCursor, deployment_key(root))
        return cur is None or now - cur.synced_at >= self.poll_interval_s * 0.8 or cur.head < cur.chain_head

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - never let the poll thread die silently
                log.exception("indexer poll failed")
            self._stop.wait(self.poll_interval_s)


__all__ = [
    "ChainSource",
    "DecodedEvent",
    "Indexer",
    "IndexLock",
    "IndexedChainReader",
    "IndexService",
    "RoundResult",
    "decode_args",
    "deployment_key",
    "lock_path_for",
]
