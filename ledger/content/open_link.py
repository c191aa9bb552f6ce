"""Opening a share link here: fetch the encrypted share, check it, decrypt it with the link's key.

The encrypted object comes from the link's own verifier (``GET <verifier>/content/<cid>``, what the
verification page fetches) or, when that fails and a store is given (the configured IPFS node), from
the store. Either way the bytes must hash to the link's CID before they are decrypted; the key, in
the link's fragment, is only ever used on this machine and never sent anywhere.
"""

from __future__ import annotations

import urllib.error
import urllib.request

from ledger.content.cid import compute_cid
from ledger.content.links import ShareLink, parse_share_link
from ledger.content.share import MAX_SHARE_BYTES, ShareError, decrypt_share
from ledger.content.store import ContentStore, ContentStoreError


class ShareOpenError(Exception):
    """A share link that could not be opened; the message names the link with its key redacted."""


def fetch_from_verifier(link: ShareLink, timeout_s: float = 10.0) -> bytes:
    """The encrypted share from ``<verifier>/content/<cid>`` (the fragment is not part of the request)."""
    url = f"{link.verifier_url}/content/{link.cid}"
    request = urllib.request.Request(url, headers={"Accept": "application/octet-stream"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - http(s) only: the link parser checked the scheme
            data = response.read(MAX_SHARE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise ShareOpenError(f"{url} answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ShareOpenError(f"{url} could not be reached: {reason}") from None
    if len(data) > MAX_SHARE_BYTES:
        raise ShareOpenError(f"{url} sent more than {MAX_SHARE_BYTES:,} bytes, larger than any share")
    return data


def open_share_link(text: str, store: ContentStore | None = None, timeout_s: float = 10.0) -> bytes:
    """The bundle's JSON bytes behind a share link; :class:`ShareOpenError` (or
    ``ledger.content.links.ShareLinkError`` for a malformed link) saying why not."""
    link = parse_share_link(text)
    try:
        blob = fetch_from_verifier(link, timeout_s)
    except ShareOpenError as exc:
        if store is None:
            raise ShareOpenError(f"{link.redacted}: {exc}") from None
        try:
            blob = store.get(link.cid)  # the store checks the bytes against the CID itself
        except ContentStoreError as again:
            raise ShareOpenError(f"{link.redacted}: {exc}; and from the content store: {again}") from None
    if compute_cid(blob) != link.cid:
        raise ShareOpenError(f"{link.redacted}: the fetched bytes do not hash to the link's CID")
    try:
        return decrypt_share(blob, link.key)
    except ShareError as exc:
        raise ShareOpenError(f"{link.redacted}: {exc}") from None


__all__ = ["ShareOpenError", "fetch_from_verifier", "open_share_link"]
