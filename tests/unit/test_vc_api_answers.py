"""The HTTP status of the W3C VC API's verify answers (docs/protocol.md 13.3): 200 verified, 422 a check
failed, 503 with Retry-After when nothing failed but a check could not decide (a status list or the chain
unreachable), and 500 — not 503 — when a check crashed: a bug is not a reason to try again."""

from __future__ import annotations

import asyncio
import json

import httpx

from ledger.protocol.keys import SigningKey
from ledger.protocol.proof import add_proof
from ledger.protocol.status_list import status_entries
from ledger.verification.report import Report, error, invalid, valid
from ledger.verification.status_list_fetch import StatusListFetcher
from verifier.vc_api_endpoint import CREDENTIALS, answer

V2 = "https://www.w3.org/ns/credentials/v2"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"


def _unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def _credential(key: SigningKey, **extra) -> dict:
    doc = {
        "@context": [V2, EXAMPLES],
        "id": "urn:uuid:7c1a0a52-8a3c-4f0e-9b7e-1d2c3b4a5f60",
        "type": ["VerifiableCredential", "ExampleCredential"],
        "issuer": key.public_key.did,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:a", "name": "A"},
        **extra,
    }
    return add_proof(doc, key, created="2025-01-01T00:00:00Z")


def _ask(document: dict, service=None, fetcher=None) -> tuple[int, dict, dict]:
    fetcher = fetcher or StatusListFetcher(transport=httpx.MockTransport(_unreachable))
    status, payload, media_type, headers = asyncio.run(
        answer(CREDENTIALS, json.dumps(document).encode(), service, fetcher)
    )
    return (
        status,
        json.loads(payload),
        {k.decode(): v.decode() for k, v in headers} | {"content-type": media_type.decode()},
    )


def test_verified_is_200_and_a_failed_check_is_422():
    key = SigningKey.generate()
    status, body, headers = _ask({"verifiableCredential": _credential(key)})
    assert (status, body["verified"], body["errors"]) == (200, True, [])
    assert "retry-after" not in headers
    forged = {**_credential(key), "validFrom": "2025-01-02T00:00:00Z"}
    status, body, _ = _ask({"verifiableCredential": forged})
    assert status == 422 and body["verified"] is False
    assert [e["code"] for e in body["errors"]] == ["INVALID_SIGNATURE"]


def test_a_status_list_that_cannot_be_read_is_503_with_retry_after():
    key = SigningKey.generate()
    credential = _credential(key, credentialStatus=status_entries("http://127.0.0.1:9/status", "unreachable", 1, 0))
    status, body, headers = _ask({"verifiableCredential": credential})
    assert status == 503 and headers["retry-after"].isdigit() and headers["content-type"] == "application/json"
    assert body["verified"] is False
    assert {e["code"] for e in body["errors"]} == {"STATUS_LIST_UNAVAILABLE"}
    # a proven defect wins: the same credential with a broken proof is a 422 (its lists are not even read)
    forged = {**credential, "validFrom": "2025-01-02T00:00:00Z"}
    status, body, headers = _ask({"verifiableCredential": forged})
    assert status == 422 and "retry-after" not in headers
    assert [e["code"] for e in body["errors"]] == ["INVALID_SIGNATURE"]


class _Service:
    def __init__(self, *checks):
        self.report = Report(list(checks), {})

    def verify_now(self, _bundle: bytes) -> Report:
        return self.report


def _six(**replace) -> list:
    checks = {name: valid(name, "OK") for name in ("format", "integrity", "anchor", "issuer", "status", "validity")}
    checks.update(replace)
    return list(checks.values())


BUNDLE = {"verifiableCredential": {"type": "CertLedgerBundle", "version": 2, "credential": {}, "anchor": None}}


def test_a_chain_that_cannot_be_read_is_503_and_a_failure_beside_it_422():
    status, body, headers = _ask(BUNDLE, _Service(*_six(status=error("status", "CHAIN_UNAVAILABLE"))))
    assert status == 503 and headers["retry-after"].isdigit()
    assert [(e["check"], e["code"]) for e in body["errors"]] == [("status", "CHAIN_UNAVAILABLE")]
    status, body, _ = _ask(
        BUNDLE, _Service(*_six(status=error("status", "CHAIN_UNAVAILABLE"), validity=invalid("validity", "EXPIRED")))
    )
    assert status == 422 and {e["code"] for e in body["errors"]} == {"CHAIN_UNAVAILABLE", "EXPIRED"}


def test_a_crashed_check_is_a_500_problem_not_a_retry(caplog):
    crashed = _Service(*_six(integrity=error("integrity", "INTERNAL_ERROR", detail="KeyError: 'x'")))
    for options in ({}, {"options": {"checks": ["validity"]}}):  # asked for or not
        status, body, headers = _ask({**BUNDLE, **options}, crashed)
        assert (status, body["code"], headers["content-type"]) == (500, "INTERNAL_ERROR", "application/problem+json")
        assert "retry-after" not in headers
    assert "the integrity check failed" in caplog.text
