"""The verifier service's work, without HTTP: verify one bundle or a batch, read shared content.

The routes (``verifier.app``) only move bytes in and out; tests call these functions directly.

* A body that is not JSON, or JSON that is not a bundle object, is refused (:class:`Problem`, 4xx).
  Any bundle-shaped object is verified, and a bundle whose content is wrong is a *report* that
  says INVALID and why — never an error.
* A batch is a JSON array; each element is cut out of the body as text (so that duplicate keys and
  numbers reach the verifier exactly as sent) and verified on its own; large batches are spread over
  worker processes (``verifier.batch``).
* A bundle whose root the index has not seen yet may have been anchored a moment ago: the service
  asks the indexer to look at the chain now and verifies once more (``catch_up``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

from ledger.content.cid import CIDError, parse_cid
from ledger.content.store import (
    ContentCorrupt,
    ContentNotFound,
    ContentStoreError,
    ContentStoreUnavailable,
    ContentTooLarge,
)
from ledger.protocol.json_depth import MAX_DEPTH, too_deep  # why: see ledger.protocol.json_depth
from ledger.protocol.utf8 import ByteOrderMarkError, NotUtf8Error, decode_utf8
from ledger.verification.chain_state import ChainReader
from ledger.verification.report import Report
from ledger.verification.trust import TrustRoots
from ledger.verification.verify import verify
from verifier.problems import Problem

_WHITESPACE = " \t\n\r"
_SCANNER = json.JSONDecoder()

_BIG_STACK = 256 * 1024 * 1024  # the batch splitter's thread: RecursionError, never a crash


class VerifierService:
    def __init__(
        self,
        trust: TrustRoots,
        reader: ChainReader,
        *,
        content_store=None,
        catch_up: Callable[[float], None] | None = None,
        batch_pool=None,
        max_batch_items: int = 10_000,
        clock=time.time,
    ):
        self.trust, self.reader, self.content_store = trust, reader, content_store
        self._catch_up, self.batch_pool, self.max_batch_items, self.clock = catch_up, batch_pool, max_batch_items, clock

    # --- one bundle ---

    def verify_bytes(self, body: bytes) -> Report:
        """Verify a body; raise :class:`Problem` when it is not a bundle at all."""
        if not body.strip():
            raise Problem(400, "EMPTY_BODY", "send the bundle's JSON as the request body")
        if too_deep(body):
            raise Problem(400, "NOT_JSON", f"the JSON is nested more than {MAX_DEPTH} levels deep")
        report = verify(body, self.trust, self.reader)
        fmt = report.checks[0]
        if fmt.code == "BUNDLE_MALFORMED":
            _refuse_non_bundle(body)  # not JSON, or not a bundle at all: a 4xx, not a report
        return report

    def needs_catch_up(self, report: Report) -> bool:
        return self._catch_up is not None and report.checks[2].code == "ROOT_NOT_ANCHORED"

    def catch_up(self, since: float) -> None:
        if self._catch_up is not None:
            self._catch_up(since)

    def verify_now(self, body: bytes) -> Report:
        """verify_bytes, with a look at the chain when the root is not (yet) in the index."""
        started = self.clock()
        report = self.verify_bytes(body)
        if self.needs_catch_up(report):
            self.catch_up(started)
            report = self.verify_bytes(body)
        return report

    # --- batches ---

    def split_batch(self, body: bytes) -> list[str]:
        """The elements of a JSON array, each as its own JSON text; :class:`Problem` otherwise.
        Runs in a thread of its own with a large stack (see ``ledger.protocol.json_depth``)."""
        outcome: list = []

        def run():
            try:
                outcome.append(self._split_batch(body))
            except RecursionError:
                outcome.append(Problem(400, "NOT_JSON", f"the JSON is nested more than {MAX_DEPTH} levels deep"))
            except Exception as exc:  # noqa: BLE001 - handed to the caller's thread
                outcome.append(exc)

        previous = threading.stack_size(_BIG_STACK)
        try:
            thread = threading.Thread(target=run, name="batch-splitter")
            thread.start()
        finally:
            threading.stack_size(previous)
        thread.join()
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        for i, item in enumerate(outcome[0]):
            if too_deep(item):
                raise Problem(
                    400, "NOT_JSON", f"element {i}: the JSON is nested more than {MAX_DEPTH} levels deep", index=i
                )
        return outcome[0]

    def _split_batch(self, body: bytes) -> list[str]:
        text = _decode_body(body)
        n, i = len(text), _skip(text, 0)
        if i == n:
            raise Problem(400, "EMPTY_BODY", "send a JSON array of bundles as the request body")
        if text[i] != "[":
            _refuse_non_array(text)
        items: list[str] = []
        i = _skip(text, i + 1)
        if i < n and text[i] == "]":
            i += 1
        else:
            while True:
                try:
                    _, end = _SCANNER.raw_decode(text, i)
                except json.JSONDecodeError as exc:
                    raise Problem(
                        400, "NOT_JSON", f"element {len(items)}: {exc.msg} at character {exc.pos}", index=len(items)
                    ) from None
                items.append(text[i:end])
                if len(items) > self.max_batch_items:
                    raise Problem(
                        413,
                        "BATCH_TOO_LARGE",
                        f"a batch holds at most {self.max_batch_items:,} bundles",
                        limit=self.max_batch_items,
                    )
                i = _skip(text, end)
                if i < n and text[i] == ",":
                    i = _skip(text, i + 1)
                    continue
                if i < n and text[i] == "]":
                    i += 1
                    break
                raise Problem(400, "NOT_JSON", f"expected ',' or ']' after element {len(items) - 1} at character {i}")
        if _skip(text, i) != n:
            raise Problem(400, "NOT_JSON", f"unexpected text after the array at character {_skip(text, i)}")
        return items

    def verify_batch(self, body: bytes) -> list[str]:
        """A batch body -> the reports (JSON texts), in order; :class:`Problem` for bad input.

        A large body goes to the batch pool uncut: each process splits and verifies its own part
        (``verifier.batch``); when that cannot be done safely, the body is split here first."""
        started = self.clock()
        pool = self.batch_pool
        if pool is not None and pool.worth_splitting(len(body)):
            outcome = pool.verify_array(_decode_body(body), self.max_batch_items)
            if outcome is not None:
                reports, retry = outcome
                self._retry(reports, retry, started)
                return reports
        return self.verify_batch_items(self.split_batch(body), started)

    def verify_batch_items(self, items: list[str], started: float | None = None) -> list[str]:
        """Reports (each as JSON text), in order; spread over the batch pool when there is one."""
        started = self.clock() if started is None else started
        if self.batch_pool is not None and self.batch_pool.worth_it(len(items)):
            reports, retry = self.batch_pool.verify(items)
        else:
            reports, retry = verify_texts(items, self.trust, self.reader)
        self._retry(reports, [(i, items[i]) for i in retry], started)
        return reports

    def _retry(self, reports: list[str], retry: list[tuple[int, str]], started: float) -> None:
        """Verify again, after a look at the chain, the bundles whose root the index did not know."""
        if not retry or self._catch_up is None:
            return
        self.catch_up(started)
        again, _ = verify_texts([text for _, text in retry], self.trust, self.reader)
        for (i, _), text in zip(retry, again):
            reports[i] = text

    # --- shared content ---

    def content(self, cid: str) -> bytes:
        check_cid(cid)
        if self.content_store is None:
            raise Problem(404, "CONTENT_NOT_FOUND", "this verifier has no content store")
        try:
            return self.content_store.get(cid)
        except ContentNotFound:
            raise Problem(404, "CONTENT_NOT_FOUND", f"no content {cid} in the content store", cid=cid) from None
        except ContentCorrupt:
            raise Problem(502, "CONTENT_CORRUPT", f"the stored bytes of {cid} do not hash to it", cid=cid) from None
        except ContentTooLarge:
            raise Problem(
                502, "CONTENT_CORRUPT", f"the stored object {cid} is larger than any share", cid=cid
            ) from None
        except ContentStoreUnavailable:
            raise Problem(
                503, "CONTENT_STORE_UNAVAILABLE", "the content store cannot be reached; try again later", cid=cid
            ) from None
        except ContentStoreError:
            raise Problem(
                503,
                "CONTENT_STORE_UNAVAILABLE",
                "the content store failed to read the object; try again later",
                cid=cid,
            ) from None


def verify_texts(items: list[str], trust: TrustRoots, reader: ChainReader) -> tuple[list[str], list[int]]:
    """Verify each text; the reports as JSON texts, and the indexes whose root was not found."""
    out, retry = [], []
    for i, item in enumerate(items):
        report = verify(item, trust, reader)
        if report.checks[2].code == "ROOT_NOT_ANCHORED":
            retry.append(i)
        out.append(report_json(report))
    return out, retry


def report_json(report: Report) -> str:
    return report.to_json_text()


def _decode_body(body: bytes) -> str:
    """A request body as UTF-8 text without a byte order mark, else 400 NOT_JSON."""
    try:
        return decode_utf8(body, bom="refuse")
    except NotUtf8Error as exc:
        raise Problem(400, "NOT_JSON", f"the body is not UTF-8 text (byte {exc.start})") from None
    except ByteOrderMarkError:
        raise Problem(400, "NOT_JSON", "the body starts with a byte order mark; send plain UTF-8 JSON") from None


def check_cid(cid: str) -> None:
    try:
        parse_cid(cid)
    except CIDError:
        # The reason, not the text: a mistyped link may carry more than a CID.
        raise Problem(
            400, "CID_MALFORMED", "a CID here is CIDv1 in lower-case base32 (bafk…), as the share link gives it"
        ) from None


def _skip(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] in _WHITESPACE:
        i += 1
    return i


def _refuse_non_bundle(body: bytes) -> None:
    """The format check refused the body: tell JSON errors and non-bundles (4xx) from malformed
    bundles (a report)."""
    text = _decode_body(body)
    try:
        doc = json.loads(text)
    except RecursionError:
        raise Problem(400, "NOT_JSON", "the JSON is nested too deeply") from None
    except ValueError as exc:
        where = f" at character {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise Problem(400, "NOT_JSON", f"the body is not valid JSON: {reason}{where}") from None
    if not isinstance(doc, dict):
        raise Problem(
            422, "NOT_A_BUNDLE", f"expected a bundle (a JSON object), got a JSON {_kind(doc)}", field="(bundle)"
        )
    if doc.get("type") != "CertLedgerBundle":
        hint = (
            " (this looks like a bare credential: send the bundle that holds it)"
            if "credentialSubject" in doc or "proof" in doc
            else ""
        )
        raise Problem(422, "NOT_A_BUNDLE", f'a bundle has "type": "CertLedgerBundle"{hint}', field="type")


def _refuse_non_array(text: str) -> None:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        where = f" at character {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
        raise Problem(400, "NOT_JSON", f"the body is not valid JSON{where}") from None
    raise Problem(422, "NOT_AN_ARRAY", f"expected a JSON array of bundles, got a JSON {_kind(doc)}")


def _kind(doc: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(doc), "number")


__all__ = ["VerifierService", "verify_texts", "report_json", "check_cid", "too_deep", "MAX_DEPTH"]
