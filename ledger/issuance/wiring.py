"""Assembling the issuance pieces of a data directory: context, content store, shares."""
from __future__ import annotations

import os

from ledger.content.ipfs_store import IpfsContentStore
from ledger.content.local_store import LocalContentStore

from .context import IssuanceContext
from .sharing import ShareStore

IPFS_API_ENV = "CERTLEDGER_IPFS_API"


def content_store_for(settings):
    """IPFS when $CERTLEDGER_IPFS_API names a node (Kubo RPC API), else the embedded local store."""
    api = os.environ.get(IPFS_API_ENV)
    return IpfsContentStore(api) if api else LocalContentStore(settings.data_dir / "content")


def issuance_for(settings, rpc_urls: list[str], **kw) -> tuple[IssuanceContext, ShareStore]:
    """The context of `settings`' data directory, with completed bundles stored as encrypted shares."""
    ctx = IssuanceContext.from_settings(settings, rpc_urls, **kw)
    shares = ShareStore(ctx, content_store_for(settings))
    ctx.store_bundle = shares.store_bundle
    return ctx, shares
