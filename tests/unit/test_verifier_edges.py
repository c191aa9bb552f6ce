"""Edges a verifier written from docs/protocol.md alone found: times beyond year 9999, microseconds
after the anchor time, JSON equality in the proof's @context, statusSize."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger.protocol.keys import SigningKey
from ledger.protocol.proof import CONTEXT_MISMATCH, ProofVerificationError, add_proof, verify_proof
from ledger.protocol.status_list import StatusListError, parse_status_entry, status_entries
from ledger.verification.checks.issuer import _later_than
from ledger.verification.timefmt import iso_utc


def test_chain_times_beyond_year_9999_are_shown_not_raised():
    assert iso_utc(0) == "1970-01-01T00:00:00Z"
    assert iso_utc(253402300799) == "9999-12-31T23:59:59Z"
    assert iso_utc(2**64 - 1) == f"{2**64 - 1} s after 1970-01-01T00:00:00Z"


@pytest.mark.parametrize("t", [1_700_000_000, 2**34 + 5, 253402300000])
def test_created_one_microsecond_after_the_anchor_time_is_later(t):
    at = datetime.fromtimestamp(t, UTC)
    assert not _later_than(at, t)
    assert _later_than(at.replace(microsecond=1), t)
    assert not _later_than(at.replace(microsecond=1), t + 1)


def test_a_proof_context_equal_only_by_python_equality_is_a_mismatch():
    key = SigningKey.generate()
    signed = add_proof(
        {"@context": ["https://www.w3.org/ns/credentials/v2", {"x": 1}], "a": "b"}, key, created="2024-01-01T00:00:00Z"
    )
    verify_proof(signed)
    signed["@context"] = ["https://www.w3.org/ns/credentials/v2", {"x": True}]  # true is not 1 in JSON
    with pytest.raises(ProofVerificationError) as e:
        verify_proof(signed)
    assert e.value.code == CONTEXT_MISMATCH


def test_status_size_must_be_the_integer_one():
    entry = status_entries("https://s.example/status", "zj-hz-education", 1, 3)[0]
    parse_status_entry({**entry, "statusSize": 1})
    parse_status_entry({**entry, "statusSize": 1.0})  # the JSON number one, however written
    for bad in (True, "1", 2):
        with pytest.raises(StatusListError):
            parse_status_entry({**entry, "statusSize": bad})


def test_a_node_answering_null_is_chain_unavailable_not_an_internal_error():
    """An eth_call whose result is JSON null (a broken node) fails closed as CHAIN_UNAVAILABLE."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from ledger.protocol.deployment import Deployment
    from ledger.verification import RpcChainReader
    from ledger.verification.chain_state import ChainUnavailable

    class NullNode(BaseHTTPRequestHandler):
        def do_POST(self):
            request = json.loads(self.rfile.read(int(self.headers["content-length"])))
            answers = {"eth_chainId": "0x7a69", "net_version": "31337"}

            def answer(r):
                return {"jsonrpc": "2.0", "id": r["id"], "result": answers.get(r["method"])}

            body = json.dumps([answer(r) for r in request] if isinstance(request, list) else answer(request)).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), NullNode)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        reader = RpcChainReader({31337: [f"http://127.0.0.1:{server.server_port}"]})
        deployment = Deployment(31337, "0x" + "11" * 20, "0x" + "22" * 20)
        for read in (
            lambda: reader.anchor_of(deployment, bytes(32), bytes(32)),
            lambda: reader.agency_info(deployment, bytes(32)),
            lambda: reader.key_of(deployment, bytes(32), bytes(32)),
        ):
            with pytest.raises(ChainUnavailable):
                read()
    finally:
        server.shutdown()
