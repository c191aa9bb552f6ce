"""Assembling the issuance pieces of a data directory: context, content store, shares."""

from __future__ import annotations

import os

from ledger.content.ipfs_store import IpfsContentStore
from ledger.content.local_store import LocalContentStore
from ledger.content.store import ContentStore
from ledger.issuance.context import IssuanceContext
from ledger.issuance.sharing import BACKOFF_MAX_S, ShareStore

IPFS_API_ENV = "CERTLEDGER_IPFS_API"
RETRY_MAX_ENV = "CERTLEDGER_CONTENT_RETRY_MAX_S"


def content_store_for(settings):
    """IPFS when $CERTLEDGER_IPFS_API names a node (Kubo RPC API), else the embedded local store."""
    api = os.environ.get(IPFS_API_ENV)
    return IpfsContentStore(api) if api else LocalContentStore(settings.data_dir / "content")


def attach_shares(ctx: IssuanceContext, content: ContentStore) -> ShareStore:
    """Completed bundles of `ctx` become encrypted shares in `content`, a delivery chunk at a time.
    $CERTLEDGER_CONTENT_RETRY_MAX_S caps the retry queue's backoff (seconds)."""
    cap = os.environ.get(RETRY_MAX_ENV)
    try:
        backoff_max_s = float(cap) if cap else BACKOFF_MAX_S
        shares = ShareStore(ctx, content, backoff_s=min(2.0, backoff_max_s), backoff_max_s=backoff_max_s)
    except ValueError:
        raise ValueError(f"{RETRY_MAX_ENV} must be a positive number of seconds, not {cap!r}") from None
    ctx.bundle_sink = shares.sink()
    return shares


def issuance_for(settings, rpc_urls: list[str], **kw) -> tuple[IssuanceContext, ShareStore]:
    """The context of `settings`' data directory, with completed bundles stored as encrypted shares."""
    ctx = IssuanceContext.from_settings(settings, rpc_urls, **kw)
    return ctx, attach_shares(ctx, content_store_for(settings))
