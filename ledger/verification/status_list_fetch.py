"""The W3C Bitstring Status List check of a bare credential (``POST /credentials/verify``).

A credential's ``BitstringStatusListEntry`` names its list credential by URL; that URL, and no
other, is fetched over HTTP(S): no redirect is followed (a list that moved is an error, not a
fetch from somewhere the credential does not name), the answer is capped at
:data:`MAX_BYTES`, and it must come within :data:`TIMEOUT_S`. The list credential is then checked
(``ledger.protocol.status_list.check_list_credential``: shape, the URL it was read from, the purpose, the
validity period, the encoded bits), its Data Integrity proof verified (either EdDSA cryptosuite),
and its issuer must be the credential's issuer, with a proof by that issuer's key. A verified
list is cached for its ``ttl`` (milliseconds; 5 minutes when it gives none, at most 1 hour).

The CertLedger verifier of bundles reads status from the chain instead; this is for credentials
checked without an anchor.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from ledger.protocol.data_integrity import controller_of, verify_data_integrity
from ledger.protocol.proof import ProofVerificationError
from ledger.protocol.status_list import ENTRY_TYPE, StatusListError, StatusListView, check_list_credential

MAX_BYTES = 2 * 1024 * 1024
TIMEOUT_S = 5.0
DEFAULT_TTL_S = 300.0
MAX_TTL_S = 3600.0
_INDEX = re.compile(r"0|[1-9][0-9]{0,14}")
_URL = re.compile(r"https?://[^\s#]+")


@dataclass(frozen=True)
class StatusFinding:
    """One entry's outcome: ``ok`` (the bit is clear), or a stable ``code`` and a sentence."""

    ok: bool
    code: str
    member: str
    message: str
    error: bool = True  # False: a warning (an entry type this verifier does not read)


@dataclass
class _Cached:
    view: StatusListView
    issuer: str
    until: float


class StatusListFetcher:
    """Fetches, checks and caches status list credentials (thread-safe)."""

    def __init__(self, *, transport: httpx.BaseTransport | None = None, clock=time.monotonic):
        self._client = httpx.Client(
            timeout=TIMEOUT_S,
            follow_redirects=False,
            transport=transport,
            headers={"Accept": "application/vc, application/ld+json, application/json"},
        )
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def close(self) -> None:
        self._client.close()

    def _fetch(self, url: str) -> object:
        with self._client.stream("GET", url) as response:
            if response.status_code != 200:
                raise StatusListError(
                    "STATUS_LIST_UNAVAILABLE", "statusListCredential", f"{url} answered HTTP {response.status_code}"
                )
            chunks, total = [], 0
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > MAX_BYTES:
                    raise StatusListError(
                        "STATUS_LIST_UNAVAILABLE", "statusListCredential", f"{url} sent more than {MAX_BYTES} bytes"
                    )
                chunks.append(chunk)
        try:
            return json.loads(b"".join(chunks))
        except ValueError:
            raise StatusListError("STATUS_LIST_MALFORMED", "statusListCredential", f"{url} did not send JSON") from None

    def list_for(self, url: str, purpose: str, now: datetime) -> tuple[StatusListView, str]:
        """The checked list at ``url`` and its issuer id (cached per its ttl)."""
        with self._lock:
            cached = self._cache.get(url)
        if cached is not None and cached.until > self._clock():
            if cached.view.purpose != purpose:
                raise StatusListError(
                    "STATUS_LIST_PURPOSE_MISMATCH",
                    "statusPurpose",
                    f"the list's purpose is {cached.view.purpose!r}, the entry's {purpose!r}",
                )
            return cached.view, cached.issuer
        try:
            document: Any = self._fetch(url)  # JSON, checked by check_list_credential below
        except httpx.HTTPError as exc:
            raise StatusListError(
                "STATUS_LIST_UNAVAILABLE", "statusListCredential", f"{url} could not be read: {type(exc).__name__}"
            ) from None
        view = check_list_credential(document, url=url, purpose=purpose, now=now, verify=False)
        try:
            proofs = verify_data_integrity(document, now=now)
        except ProofVerificationError as exc:
            raise StatusListError(
                "STATUS_LIST_INVALID_PROOF",
                "statusListCredential",
                f"the list's proof does not verify: {exc.code}: {exc.reason}",
            ) from None
        issuer = document["issuer"]["id"]
        if any(controller_of(p.verification_method) != issuer for p in proofs):
            raise StatusListError(
                "STATUS_LIST_INVALID_PROOF", "statusListCredential", "the list is not signed by a key of its issuer"
            )
        ttl = view.ttl_ms / 1000.0 if view.ttl_ms else DEFAULT_TTL_S
        with self._lock:
            self._cache[url] = _Cached(view, issuer, self._clock() + min(max(ttl, 0.0), MAX_TTL_S))
        return view, issuer

    def check(self, credential: Mapping, now: datetime | None = None) -> list[StatusFinding]:
        """One finding per status entry of ``credential`` (none when it has no ``credentialStatus``)."""
        now = now or datetime.now(UTC)
        status = credential.get("credentialStatus")
        if status is None:
            return []
        entries = status if isinstance(status, list) else [status]
        many = isinstance(status, list)
        issuer = credential.get("issuer")
        issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
        findings = []
        for i, entry in enumerate(entries):
            member = f"credentialStatus[{i}]" if many else "credentialStatus"
            findings.append(self._entry(entry, member, issuer_id, now))
        return findings

    def _entry(self, entry: object, member: str, issuer_id: object, now: datetime) -> StatusFinding:
        if not isinstance(entry, Mapping):
            return StatusFinding(False, "STATUS_ENTRY_MALFORMED", member, "a status entry is an object")
        if entry.get("type") != ENTRY_TYPE:
            return StatusFinding(
                False,
                "STATUS_TYPE_UNSUPPORTED",
                f"{member}.type",
                f"status of type {entry.get('type')!r} is not checked (only {ENTRY_TYPE})",
                error=False,
            )
        purpose, index, url = (
            entry.get("statusPurpose"),
            entry.get("statusListIndex"),
            entry.get("statusListCredential"),
        )
        if not isinstance(purpose, str) or not purpose:
            return StatusFinding(False, "STATUS_ENTRY_MALFORMED", f"{member}.statusPurpose", "must be a string")
        if not isinstance(index, str) or _INDEX.fullmatch(index) is None:
            return StatusFinding(
                False,
                "STATUS_ENTRY_MALFORMED",
                f"{member}.statusListIndex",
                "must be a decimal integer written as a string",
            )
        if not isinstance(url, str) or _URL.fullmatch(url) is None:
            return StatusFinding(
                False, "STATUS_ENTRY_MALFORMED", f"{member}.statusListCredential", "must be an http(s) URL"
            )
        if entry.get("statusSize", 1) != 1:
            return StatusFinding(
                False,
                "STATUS_ENTRY_UNSUPPORTED",
                f"{member}.statusSize",
                "only one-bit entries (statusSize 1) are read",
            )
        try:
            view, list_issuer = self.list_for(url, purpose, now)
        except StatusListError as exc:
            return StatusFinding(False, exc.code, f"{member}.statusListCredential", exc.reason)
        if list_issuer != issuer_id:
            return StatusFinding(
                False,
                "STATUS_LIST_ISSUER_MISMATCH",
                f"{member}.statusListCredential",
                "the status list is not issued by the credential's issuer",
            )
        position = int(index)
        if position >= view.size:
            return StatusFinding(
                False, "STATUS_INDEX_OUT_OF_RANGE", f"{member}.statusListIndex", f"the list has {view.size} entries"
            )
        if view.is_set(position):
            code = {"revocation": "REVOKED", "suspension": "SUSPENDED"}.get(purpose, "STATUS_SET")
            return StatusFinding(False, code, member, f"the {purpose} list has this credential's bit set")
        return StatusFinding(True, "STATUS_CLEAR", member, f"not set in the {purpose} list")


__all__ = ["StatusFinding", "StatusListFetcher"]
