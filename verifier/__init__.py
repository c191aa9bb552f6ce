"""The verifier service: HTTP API, verification page, chain indexer (over ``ledger.verification``)."""
