"""CertLedger verifier."""
