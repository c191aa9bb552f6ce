"""The JSON-LD contexts CertLedger credentials and status lists name (docs/protocol.md, "Credential").

Both are W3C URLs that W3C verifiers ship with their document loaders: the VC 2.0 base context, then
W3C's context for issuer-dependent terms (an ``@vocab``), which makes every type name and claim a
defined term, so that JSON-LD processors in safe mode keep them all.
"""

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
UNDEFINED_TERMS_CONTEXT = "https://www.w3.org/ns/credentials/undefined-terms/v2"
CREDENTIAL_CONTEXT = (VC_V2_CONTEXT, UNDEFINED_TERMS_CONTEXT)

__all__ = ["CREDENTIAL_CONTEXT", "UNDEFINED_TERMS_CONTEXT", "VC_V2_CONTEXT"]
