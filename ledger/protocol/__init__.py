"""The wire protocol (docs/protocol.md): credentials, proofs, canonical JSON, digests, did:key,
Merkle batches, bundles, status lists. Pure: no I/O, no web, no database."""
