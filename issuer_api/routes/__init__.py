"""Thin HTTP routes over ledger.issuance: translate the request, call the library, shape the reply."""
