"""The JSON-LD contexts CertLedger knows, bundled byte for byte, and the offline document loader.

CertLedger never fetches a JSON-LD context. The files in ``ledger/protocol/contexts/`` are W3C documents
(W3C document licence), copied byte for byte from the files served at their URLs:

=========================================================  ==================================
URL                                                        file
=========================================================  ==================================
``https://www.w3.org/ns/credentials/v2``                   ``credentials-v2.jsonld``
``https://www.w3.org/ns/credentials/undefined-terms/v2``   ``undefined-terms-v2.jsonld``
``https://www.w3.org/ns/credentials/examples/v2``          ``examples-v2.jsonld``
=========================================================  ==================================

The VC 2.0 base context defines everything a Data Integrity proof (``DataIntegrityProof``,
``cryptosuite``, ``proofValue``, ``challenge``, ``domain``…), a Bitstring Status List entry and a
Multikey verification method need, and ``did:key`` is resolved without JSON-LD
(``ledger.protocol.did_key``), so no other context is needed to verify the credentials and presentations
CertLedger handles.

:func:`document_loader` answers only these URLs; any other URL is refused
(:class:`ContextNotBundled`), so a document naming an unknown context fails closed instead of
making the process reach out to the network. :func:`context_bytes` gives the exact bytes, which
``relatedResource`` digests are checked against (``ledger.protocol.data_model``).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from ledger.protocol.contexts import UNDEFINED_TERMS_CONTEXT, VC_V2_CONTEXT

EXAMPLES_V2_CONTEXT = "https://www.w3.org/ns/credentials/examples/v2"

_DIR = Path(__file__).parent / "contexts"
BUNDLED: dict[str, str] = {
    VC_V2_CONTEXT: "credentials-v2.jsonld",
    UNDEFINED_TERMS_CONTEXT: "undefined-terms-v2.jsonld",
    EXAMPLES_V2_CONTEXT: "examples-v2.jsonld",
}


class ContextNotBundled(ValueError):
    """A document named a context URL that CertLedger does not ship (it never fetches one)."""

    def __init__(self, url: str) -> None:
        super().__init__(f"the JSON-LD context {url!r} is not one CertLedger bundles; contexts are never fetched")
        self.url = url


def is_bundled(url: object) -> bool:
    return isinstance(url, str) and url in BUNDLED


@cache
def context_bytes(url: str) -> bytes:
    """The exact bytes of a bundled context (what is served at ``url``)."""
    name = BUNDLED.get(url)
    if name is None:
        raise ContextNotBundled(url)
    return (_DIR / name).read_bytes()


@cache
def _parsed(url: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(context_bytes(url))  # the bundled contexts are objects
    return parsed


def load_context(url: str) -> dict[str, Any]:
    """A bundled context document, parsed (a fresh copy: JSON-LD processors may annotate it)."""
    copied: dict[str, Any] = json.loads(json.dumps(_parsed(url)))
    return copied


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pyld document loader that serves the bundled contexts and refuses every other URL."""
    if not is_bundled(url):
        raise ContextNotBundled(url)
    # "tag": "static" lets pyld keep the processed context in its resolver cache: the bundled files
    # never change, and processing the VC 2.0 context anew costs more than the rest of a verification
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": load_context(url),
        "tag": "static",
    }


__all__ = [
    "BUNDLED",
    "EXAMPLES_V2_CONTEXT",
    "ContextNotBundled",
    "context_bytes",
    "document_loader",
    "is_bundled",
    "load_context",
]
