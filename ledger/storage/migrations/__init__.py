"""Alembic migrations of the CertLedger database, shipped in the package.

``ledger.storage.db.init_database`` upgrades to head; ``python -m ledger.storage.migrate`` runs
other Alembic commands (e.g. ``revision --autogenerate -m "..."``) with this folder as script location.
"""
