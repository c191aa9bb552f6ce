"""The content layer: encrypted shares, IPFS-compatible CIDs, content stores, share links.

* :mod:`ledger.content.share` — the encrypted share envelope (AES-256-GCM).
* :mod:`ledger.content.cid` — the CID ``ipfs add --cid-version=1 --raw-leaves`` gives.
* :mod:`ledger.content.store` — the ``ContentStore`` protocol and its errors.
* :mod:`ledger.content.local_store` — the embedded store (a directory).
* :mod:`ledger.content.ipfs_store` — an IPFS node through the Kubo RPC API.
* :mod:`ledger.content.links` — share links and their QR codes.

``ipfs_store`` is not imported here, so that using the rest never imports the IPFS client.
"""

from ledger.content.cid import CIDError, compute_cid, parse_cid
from ledger.content.links import (
    ShareLink,
    ShareLinkError,
    build_share_link,
    parse_share_link,
    qr_png,
    qr_svg,
)
from ledger.content.local_store import LocalContentStore
from ledger.content.share import (
    ShareDecryptionError,
    ShareError,
    ShareFormatError,
    ShareKeyError,
    ShareTooLargeError,
    ShareUnsupportedError,
    decrypt_share,
    encrypt_share,
)
from ledger.content.store import (
    ContentCorrupt,
    ContentNotFound,
    ContentStore,
    ContentStoreError,
    ContentStoreFull,
    ContentStoreUnavailable,
    ContentTooLarge,
)

__all__ = [
    "CIDError",
    "ContentCorrupt",
    "ContentNotFound",
    "ContentStore",
    "ContentStoreError",
    "ContentStoreFull",
    "ContentStoreUnavailable",
    "ContentTooLarge",
    "LocalContentStore",
    "ShareDecryptionError",
    "ShareError",
    "ShareFormatError",
    "ShareKeyError",
    "ShareLink",
    "ShareLinkError",
    "ShareTooLargeError",
    "ShareUnsupportedError",
    "build_share_link",
    "compute_cid",
    "decrypt_share",
    "encrypt_share",
    "parse_cid",
    "parse_share_link",
    "qr_png",
    "qr_svg",
]
