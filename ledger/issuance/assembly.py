"""Assembling the issuance pieces of a data directory: context, content store, shares."""

from __future__ import annotations

from ledger.content.ipfs_store import IpfsContentStore
from ledger.content.local_store import LocalContentStore
from ledger.content.store import ContentStore
from ledger.issuance.context import IssuanceContext
from ledger.issuance.sharing import BACKOFF_MAX_S, ShareStore


def content_store_for(settings):
    """IPFS when the environment names a node (CERTLEDGER_IPFS_API, Kubo RPC API), else the embedded local store."""
    api = settings.environment.ipfs_api
    return IpfsContentStore(api) if api else LocalContentStore(settings.data_dir / "content")


def attach_shares(ctx: IssuanceContext, content: ContentStore, backoff_max_s: float = BACKOFF_MAX_S) -> ShareStore:
    """Completed bundles of `ctx` become encrypted shares in `content`, a delivery chunk at a time;
    ``backoff_max_s`` caps the retry queue's backoff (CERTLEDGER_CONTENT_RETRY_MAX_S)."""
    shares = ShareStore(ctx, content, backoff_s=min(2.0, backoff_max_s), backoff_max_s=backoff_max_s)
    ctx.bundle_sink = shares.sink()
    return shares


def issuance_for(settings, rpc_urls: list[str], **kw) -> tuple[IssuanceContext, ShareStore]:
    """The context of `settings`' data directory, with completed bundles stored as encrypted shares."""
    ctx = IssuanceContext.from_settings(settings, rpc_urls, **kw)
    return ctx, attach_shares(ctx, content_store_for(settings), settings.environment.content_retry_max_s)
