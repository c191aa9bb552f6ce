"""Verifying many bundles at once, on every core.

:class:`WorkerPool` is a process pool whose workers die with their parent and are set up once (their
chain reader, trust roots); the verifier service's batch pool (``verifier.batch``) is one too.
:class:`VerifyPool` verifies :class:`~ledger.verification.inputs.Item` s in its workers, each with
its own :class:`CachedChainReader` (built by a picklable recipe such as :class:`RpcReaderRecipe`),
and hands back one :class:`Outcome` per item, in input order, a chunk at a time.

Why a cache per worker and not a prefetch in the parent: a bundle's own status (``statusOf``) is
the one read no two bundles share, so a prefetch would still make one call per bundle, and would
make it in one process; the facts bundles do share (anchor, key, agency, type permission, batch
status) cost each worker one read each. Measured in docs/benchmarks.md.

A worker returns plain tuples (verdict, codes, message, JSON text): a report pickles at several
times the cost.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

from ledger.verification.chain_state import CachedChainReader, ChainReader, RpcChainReader
from ledger.verification.inputs import Item
from ledger.verification.report import Report, Status, Verdict
from ledger.verification.trust import TrustRoots
from ledger.verification.verify import verify

# ------------------------------------------------------------------- the pool

_worker: dict = {}  # in a worker process: what its setup built


def _init_worker(parent: int, setup: Callable, args: tuple) -> None:
    # A forked worker inherits its parent's heap: without this, each of its full collections walks
    # (and, touching reference counts, copies) all of it (profiled: a pool forked from a busy parent
    # verified at half the rate).
    gc.freeze()
    # a pool whose parent was killed (SIGKILL: no clean-up) must not outlive it
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    # web3's imports (py_ecc) raise the recursion limit to 100,000, beyond what the stack holds when
    # the C JSON decoder recurses: here, deep input must raise RecursionError, not crash the process.
    sys.setrecursionlimit(5_000)
    setup(*args)


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _started() -> None:
    """A task that only waits for its worker to be up."""


def default_start_method() -> str:
    """``fork`` where there is one (a worker starts in milliseconds, with the modules already
    imported); ``spawn`` elsewhere. A process with threads of its own (a service) passes ``spawn``."""
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


class WorkerPool:
    """``processes`` worker processes (default: every core), each set up once by ``setup(*args)``
    (a module-level function: it is pickled) before its first task."""

    def __init__(self, setup: Callable, args: tuple, processes: int | None = None, start_method: str | None = None):
        self.processes = processes or os.cpu_count() or 1
        self._pool = ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context(start_method or default_start_method()),
            initializer=_init_worker,
            initargs=(os.getpid(), setup, args),
        )

    def submit(self, fn: Callable, *args) -> Future:
        return self._pool.submit(fn, *args)

    def warm(self) -> None:
        """Start every worker now, so the first task does not pay for their start."""
        for f in [self._pool.submit(_started) for _ in range(self.processes * 2)]:
            f.result()

    def close(self, timeout_s: float = 5.0) -> None:
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        done = threading.Thread(target=self._pool.shutdown, kwargs={"wait": True, "cancel_futures": True}, daemon=True)
        done.start()
        done.join(timeout_s)
        for p in processes:  # still starting, or stuck: they hold nothing worth waiting for
            if p.is_alive():
                p.terminate()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ------------------------------------------------------------------- verifying items


@dataclass(frozen=True)
class RpcReaderRecipe:
    """How a worker builds its own :class:`CachedChainReader` over JSON-RPC (picklable)."""

    rpc_urls: dict[int, list[str]]
    timeout_s: float = 5.0
    finality_depth: int = 0
    seed: dict | None = None  # CachedChainReader.export() of the parent's reader: what it already read

    @classmethod
    def like(cls, reader: CachedChainReader) -> RpcReaderRecipe:
        """A reader like ``reader``, starting with what ``reader`` has read so far."""
        inner = reader.inner
        return cls(dict(inner.rpc_urls), inner.timeout_s, reader.finality_depth, reader.export())

    def __call__(self) -> CachedChainReader:
        reader = CachedChainReader(RpcChainReader(self.rpc_urls, self.timeout_s), self.finality_depth)
        if self.seed:
            reader.seed(self.seed)
        return reader


@dataclass(frozen=True)
class Outcome:
    """What became of one item. ``problems`` holds ``(check, code)`` for every check that did not
    pass (``("input", code)`` when there was nothing to verify); ``message`` explains the first;
    ``report`` is the report's JSON text when it was asked for."""

    source: str
    verdict: str
    problems: tuple[tuple[str, str], ...]
    message: str = ""
    report: str | None = None

    @property
    def exit_code(self) -> int:
        return Verdict(self.verdict).exit_code


def input_problem(source: str, code: str, message: str, with_json: bool) -> Outcome:
    """An item that could not be verified at all: could not decide (ERROR)."""
    report = None
    if with_json:
        report = json.dumps(
            {"source": source, "verdict": "ERROR", "error": {"code": code, "message": message}}, ensure_ascii=False
        )
    return Outcome(source, "ERROR", (("input", code),), message, report)


_NOT_PASSED = (Status.INVALID, Status.ERROR)


def _judge(data: bytes, trust: TrustRoots, reader: ChainReader, language: str | None) -> tuple:
    report = verify(data, trust, reader)
    first = report.checks[0]
    if first.code == "BUNDLE_MALFORMED" and not _is_json(data):
        # not a bundle that could be judged, but input that is not even JSON: could not decide
        return ("ERROR", (("input", "NOT_JSON"),), f"not JSON: {first.message}", None)
    problems = tuple((c.name, c.code) for c in report.checks if c.status in _NOT_PASSED)
    message = ""
    if problems:
        failed = next(c for c in report.checks if c.status in _NOT_PASSED)
        message = failed.message_zh if language and language.startswith("zh") else failed.message
    text = _report_text(report, language) if language else None
    return (report.verdict.value, problems, message, text)


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except (ValueError, RecursionError):
        return False
    return True


def _report_text(report: Report, language: str) -> str:
    return json.dumps(report.to_json(language), ensure_ascii=False)


def _setup_verify(trust: TrustRoots, make_reader: Callable[[], ChainReader]) -> None:
    _worker.update(trust=trust, reader=make_reader())


def _verify_chunk(items: list[bytes], language: str | None) -> list[tuple]:
    trust, reader = _worker["trust"], _worker["reader"]
    return [_judge(data, trust, reader, language) for data in items]


def _outcome(source: str, judged: tuple, language: str | None) -> Outcome:
    verdict, problems, message, text = judged
    if problems and problems[0][0] == "input":
        return input_problem(source, problems[0][1], message, language is not None)
    if text is not None:  # the source first, then the report's members
        text = '{"source": ' + json.dumps(source, ensure_ascii=False) + ", " + text[1:]
    return Outcome(source, verdict, problems, message, text)


def verify_here(
    items: Iterable[Item], trust: TrustRoots, reader: ChainReader, language: str | None = None
) -> Iterator[Outcome]:
    """:meth:`VerifyPool.verify` in this process (a few bundles: no pool to start)."""
    for item in items:
        if item.problem is not None:
            yield input_problem(item.source, item.code, item.problem, language is not None)
        else:
            assert item.data is not None
            yield _outcome(item.source, _judge(item.data, trust, reader, language), language)


class VerifyPool(WorkerPool):
    """Workers that verify bundles, each with the trust roots and its own chain reader."""

    def __init__(
        self,
        trust: TrustRoots,
        make_reader: Callable[[], ChainReader],
        processes: int | None = None,
        start_method: str | None = None,
        chunk: int = 64,
    ):
        super().__init__(_setup_verify, (trust, make_reader), processes, start_method)
        self.chunk = chunk

    def verify(self, items: Iterable[Item], language: str | None = None) -> Iterator[Outcome]:
        """One :class:`Outcome` per item, in order. ``language`` (``en``, ``zh-CN``): also the
        report's JSON text, in that language. Items are read as they are needed: at most a few
        chunks per worker are in flight."""
        window: deque = deque()
        for batch in _chunks(items, self.chunk):
            window.append(self._submit(batch, language))
            if len(window) >= self.processes * 3:
                yield from _collect(window.popleft(), language)
        while window:
            yield from _collect(window.popleft(), language)

    def _submit(self, batch: list[Item], language: str | None):
        payload = [item.data for item in batch if item.problem is None]
        future = self.submit(_verify_chunk, payload, language) if payload else None
        return batch, future


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _collect(entry, language: str | None) -> Iterator[Outcome]:
    batch, future = entry
    judged = iter(future.result() if future is not None else ())
    for item in batch:
        if item.problem is not None:
            yield input_problem(item.source, item.code, item.problem, language is not None)
        else:
            yield _outcome(item.source, next(judged), language)


POOL_MIN_ITEMS = 200
"""Fewer bundles than this are verified in the calling process: a pool's start and its workers'
cold caches cost more than the cores save (measured: docs/benchmarks.md)."""


def verify_all(
    items: list[Item],
    trust: TrustRoots,
    reader: ChainReader,
    language: str | None = None,
    processes: int | None = None,
) -> Iterator[Outcome]:
    """Every item's :class:`Outcome`, in order: over a :class:`VerifyPool` of ``processes``
    (default: every core) when there are enough of them and ``reader`` reads over JSON-RPC (each
    worker gets a reader like it, with its own cache), else here with ``reader``."""
    processes = processes or os.cpu_count() or 1
    if isinstance(reader, CachedChainReader):
        for d in trust:
            reader.prefetch_statuses(d)  # a failure only means one status read per bundle, as for one bundle
    if processes < 2 or len(items) < POOL_MIN_ITEMS or not isinstance(reader, CachedChainReader):
        yield from verify_here(items, trust, reader, language)
        return
    with VerifyPool(trust, RpcReaderRecipe.like(reader), processes) as pool:
        yield from pool.verify(items, language)


class Tally:
    """Counts of verdicts and of ``(verdict, check, code)``, and the exit status of the whole:
    0 when every item is VALID, 2 when any could not be decided, else 1 (some INVALID)."""

    def __init__(self) -> None:
        self.verdicts: dict[str, int] = {}
        self.codes: dict[tuple[str, str, str], int] = {}

    def add(self, outcome: Outcome) -> None:
        self.verdicts[outcome.verdict] = self.verdicts.get(outcome.verdict, 0) + 1
        for check, code in outcome.problems:
            key = (outcome.verdict, check, code)
            self.codes[key] = self.codes.get(key, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.verdicts.values())

    @property
    def exit_code(self) -> int:
        if self.verdicts.get("ERROR"):
            return 2
        return 1 if self.verdicts.get("INVALID") else 0


__all__ = [
    "POOL_MIN_ITEMS",
    "Outcome",
    "Tally",
    "RpcReaderRecipe",
    "VerifyPool",
    "WorkerPool",
    "default_start_method",
    "input_problem",
    "verify_all",
    "verify_here",
]
