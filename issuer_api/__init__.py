"""CertLedger issuer service."""
