"""The content store on an IPFS node (Kubo, an IPFS Cluster proxy, or js-ipfs in tests),
through the Kubo-style RPC API (``/api/v0``) with ``ipfshttpclient``.

* ``put``: ``add`` with ``cid-version=1``, ``raw-leaves=true``, ``pin=true``,
  ``cid-base=base32``. The CID the node returns must equal
  :func:`ledger.content.cid.compute_cid` of the bytes; a node that imports
  differently (another chunker, say) is refused with :class:`ContentStoreError`
  rather than silently printing CIDs the embedded store would not give.
* ``get``: ``has`` first (a missing block makes an offline js-ipfs ``cat``
  wait for its timeout), then ``cat``; the bytes are hashed again and must give
  the CID (:class:`ContentCorrupt` otherwise), so a node cannot substitute content.
* ``has``: ``pin/ls`` (pinned content is present in full); when not pinned,
  ``block/stat`` with ``offline=true`` and a short server-side ``timeout`` —
  Kubo answers "not found locally" at once, js-ipfs waits for the timeout.
* ``pin``: ``pin/add`` of present content.
* A refused connection, a timeout or a dropped connection raise
  :class:`ContentStoreUnavailable` (retry later); "no space left on device"
  from the node raises :class:`ContentStoreFull`.

``ipfshttpclient`` 0.8.0a2 warns ``VersionMismatch`` for daemons it does not
know (any recent Kubo, js-ipfs) and urllib3 warns about the ``strict``
parameter it passes; both are silenced around our calls only. The client is
built without the version check, so constructing a store never touches the
network.
"""

from __future__ import annotations

import ipaddress
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar
from urllib.parse import urlsplit

import ipfshttpclient
from ipfshttpclient import exceptions as ipfs_errors

from ledger.content.cid import check_cid, compute_cid
from ledger.content.store import (
    DEFAULT_MAX_OBJECT_BYTES,
    ContentCorrupt,
    ContentNotFound,
    ContentStoreError,
    ContentStoreFull,
    ContentStoreUnavailable,
    ContentTooLarge,
)

T = TypeVar("T")

DEFAULT_API = "/ip4/127.0.0.1/tcp/5001/http"

_ADD_OPTS = {"cid-version": "1", "raw-leaves": "true", "pin": "true", "cid-base": "base32"}


@contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ipfs_errors.VersionMismatch)
        warnings.filterwarnings("ignore", message="The 'strict' parameter", category=FutureWarning)
        yield


def api_multiaddr(api: str) -> str:
    """The RPC API address as a multiaddr; accepts a multiaddr (``/ip4/127.0.0.1/tcp/5001/http``)
    or a URL (``http://127.0.0.1:5001``)."""
    if api.startswith("/"):
        return api
    parts = urlsplit(api)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the IPFS API must be a multiaddr or an http(s) URL, not {api!r}")
    if parts.path not in ("", "/"):
        raise ValueError(f"the IPFS API URL must not have a path (the client adds /api/v0): {api!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        ip = ipaddress.ip_address(parts.hostname)
        host = f"/ip{ip.version}/{ip}"
    except ValueError:
        host = f"/dns/{parts.hostname}"
    return f"{host}/tcp/{port}/{parts.scheme}"


def _reason(exc: ipfs_errors.CommunicationError) -> str:
    """The useful end of a connection error (``[Errno 111] Connection refused``), not the
    whole urllib3 chain."""
    text = str(exc)
    found = re.search(r"\[Errno -?\d+\] [^'\")]*", text)
    if found:
        return found.group(0).strip()
    if isinstance(exc, ipfs_errors.TimeoutError):
        return "timed out"
    return text if len(text) <= 200 else text[:200] + "…"


class IpfsContentStore:
    """A :class:`ledger.content.store.ContentStore` on an IPFS node's RPC API."""

    def __init__(
        self,
        api: str = DEFAULT_API,
        *,
        timeout: float = 120.0,
        has_timeout: float = 1.0,
        max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES,
    ) -> None:
        self.api = api_multiaddr(api)
        self.timeout = timeout
        self.has_timeout = has_timeout
        self.max_object_bytes = max_object_bytes
        with _quiet():
            self._client = ipfshttpclient.Client(self.api, timeout=timeout)

    def __repr__(self) -> str:
        return f"IpfsContentStore({self.api!r})"

    # -- the protocol ---------------------------------------------------------------------

    def put(self, data: bytes) -> str:
        data = bytes(data)
        if len(data) > self.max_object_bytes:
            raise ContentTooLarge(
                f"the object is {len(data):,} bytes; this store keeps at most {self.max_object_bytes:,}"
            )
        expected = compute_cid(data)
        result = self._call(lambda: self._client.add_bytes(data, opts=dict(_ADD_OPTS)), "store", expected)
        if result != expected:
            raise ContentStoreError(
                f"the IPFS node at {self.api} named the object {result}, not {expected}: it does not import "
                "with cid-version=1, raw-leaves and the default chunker; refusing a CID the embedded store "
                "would not give",
                expected,
            )
        return expected

    def put_many(self, items: Sequence[bytes]) -> list[str]:
        """``put`` of each object in turn (each ``add`` pins and is durable on the node when it
        answers); on a failure the error's ``stored`` names the CIDs added before it."""
        cids: list[str] = []
        for data in items:
            try:
                cids.append(self.put(data))
            except ContentStoreError as exc:
                exc.stored = list(cids)
                raise
        return cids

    def get(self, cid: str) -> bytes:
        check_cid(cid)
        if not self.has(cid):
            raise ContentNotFound(f"no object {cid} on the IPFS node at {self.api}", cid)
        data = self._call(lambda: self._client.cat(cid, length=self.max_object_bytes + 1), "read", cid)
        if len(data) > self.max_object_bytes:
            raise ContentTooLarge(f"object {cid} exceeds {self.max_object_bytes:,} bytes", cid)
        if compute_cid(data) != cid:
            raise ContentCorrupt(f"the IPFS node at {self.api} returned bytes for {cid} that hash to another CID", cid)
        return data

    def has(self, cid: str) -> bool:
        check_cid(cid)
        if self._pinned(cid, "recursive"):  # fast: no walk of the pinned DAGs
            return True
        opts = {"offline": "true", "timeout": f"{int(self.has_timeout * 1000)}ms"}
        try:
            self._call(
                lambda: self._client.block.stat(cid, opts=opts, timeout=self.has_timeout + 10),
                "look up",
                cid,
                raise_not_found=True,
            )
        except ContentNotFound:
            return False
        return True

    def pin(self, cid: str) -> None:
        if not self.has(cid):
            raise ContentNotFound(f"cannot pin {cid}: not on the IPFS node at {self.api}", cid)
        self._call(lambda: self._client.pin.add(cid), "pin", cid)

    # -- beyond the protocol --------------------------------------------------------------

    def is_pinned(self, cid: str) -> bool:
        """Whether the node pins ``cid`` (recursively, directly or as part of a pinned DAG)."""
        check_cid(cid)
        return self._pinned(cid, "all")

    def _pinned(self, cid: str, pin_type: str) -> bool:
        try:
            result = self._call(
                lambda: self._client.pin.ls(
                    cid, type=pin_type, opts={"cid-base": "base32"}, timeout=self.has_timeout + 10
                ),
                "look up",
                cid,
                raise_not_found=True,
            )
        except ContentNotFound:
            return False
        return cid in (result.get("Keys") or {})

    def version(self) -> dict:
        """The node's ``version`` answer; raises :class:`ContentStoreUnavailable` when it is down."""
        return dict(self._call(lambda: self._client.version(timeout=min(self.timeout, 10)), "reach", None))

    # -- internals ------------------------------------------------------------------------

    def _call(self, fn: Callable[[], T], what: str, cid: str | None, *, raise_not_found: bool = False) -> T:
        about = f" {cid}" if cid else ""
        try:
            with _quiet():
                return fn()
        except (ipfs_errors.ConnectionError, ipfs_errors.TimeoutError, ipfs_errors.ProtocolError) as exc:
            raise ContentStoreUnavailable(
                f"the IPFS node at {self.api} is unavailable (could not {what}{about}): {_reason(exc)}", cid
            ) from None
        except ipfs_errors.ErrorResponse as exc:
            message = str(exc)
            lowered = message.lower()
            if "no space left" in lowered:
                raise ContentStoreFull(f"the IPFS node at {self.api} is out of disk space: {message}", cid) from None
            if raise_not_found and any(
                s in lowered for s in ("not pinned", "not found", "timed out", "could not find", "does not exist")
            ):
                raise ContentNotFound(f"{cid} is not on the IPFS node at {self.api}: {message}", cid) from None
            raise ContentStoreError(f"the IPFS node at {self.api} could not {what}{about}: {message}", cid) from None
        except ipfs_errors.StatusError as exc:
            raise ContentStoreUnavailable(
                f"the IPFS node at {self.api} answered an error (could not {what}{about}): {exc}", cid
            ) from None
        except ipfs_errors.Error as exc:
            raise ContentStoreError(f"IPFS client error (could not {what}{about}): {exc}", cid) from None


__all__ = ["DEFAULT_API", "IpfsContentStore", "api_multiaddr"]
