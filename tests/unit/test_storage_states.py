"""The state enums are their stored strings: rows written before them read the same."""

import json

from ledger.storage.states import ANCHORED_BATCH_STATES, OPEN_BATCH_STATES, BatchState, CredentialState


def test_stored_values_are_unchanged():
    assert [s.value for s in CredentialState] == ["pending", "batched", "anchored", "suspended", "revoked"]
    assert [s.value for s in BatchState] == ["sealed", "sent", "confirmed", "completed", "held"]  # closed: "sealed"
    assert OPEN_BATCH_STATES == ("sealed", "sent", "confirmed") and ANCHORED_BATCH_STATES == ("confirmed", "completed")


def test_a_state_reads_writes_and_prints_as_its_string():
    assert CredentialState.ANCHORED == "anchored" and "anchored" in (CredentialState.ANCHORED,)
    assert str(BatchState.CLOSED) == f"{BatchState.CLOSED}" == "sealed"
    assert json.dumps({"state": CredentialState.REVOKED}) == '{"state": "revoked"}'
    assert {CredentialState.PENDING: 1}["pending"] == 1
