"""CertLedger core library."""
