"""The generic credential profile of the format check (docs/protocol.md §3.8) and the VC API verifier's
bare-credential checks, with status lists served by an in-memory HTTP transport."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ledger.protocol.credential import GENERIC_CREDENTIAL, check_credential
from ledger.protocol.errors import ValidationError
from ledger.protocol.keys import SigningKey
from ledger.protocol.proof import add_proof
from ledger.protocol.status_list import build_list_credential, issuer_object, status_entries
from ledger.verification.status_list_fetch import StatusListFetcher
from verifier.vc_api import verify_bare

V2 = "https://www.w3.org/ns/credentials/v2"
UNDEFINED = "https://www.w3.org/ns/credentials/undefined-terms/v2"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"
BASE = "https://issuer.example/status"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
KEY = SigningKey.from_seed(bytes(range(32)))


def generic(**changes) -> dict:
    doc = {
        "@context": [V2, UNDEFINED, EXAMPLES],
        "id": "https://example.org/credentials/1",
        "type": ["VerifiableCredential", GENERIC_CREDENTIAL, "ExampleCredential"],
        "issuer": {"id": KEY.public_key.did, "name": "Agency", "agency": "urn:certledger:agency:w3c-suite"},
        "validFrom": "2025-02-25T19:10:39-06:00",
        "credentialSubject": [{"id": "did:example:a"}, {"id": "did:example:b"}],
        "credentialStatus": status_entries(BASE, "w3c-suite", 1, 7) + [{"type": "https://example.org/#Status"}],
        "termsOfUse": {"type": "https://example.org/#Policy"},
    }
    for key, value in changes.items():
        if value is None:
            doc.pop(key)
        else:
            doc[key] = value
    return add_proof(doc, KEY, created="2025-01-01T00:00:00Z")


def test_a_generic_credential_is_well_formed():
    view = check_credential(generic())
    assert view.type_name == GENERIC_CREDENTIAL and view.status.index == 7
    assert view.valid_from == datetime(2025, 2, 26, 1, 10, 39, tzinfo=UTC)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"@context": [V2, EXAMPLES, UNDEFINED]}, "@context"),
        ({"@context": [V2, UNDEFINED, 12]}, "@context[2]"),
        ({"id": "not a url"}, "id"),
        ({"type": ["VerifiableCredential", GENERIC_CREDENTIAL, "VerifiableCredential"]}, "type[2]"),
        ({"type": ["VerifiableCredential", GENERIC_CREDENTIAL, "A", "A"]}, "type[3]"),
        ({"credentialSubject": []}, "credentialSubject"),
        ({"credentialSubject": [{}]}, "credentialSubject[0]"),
        ({"credentialStatus": [{"type": "https://example.org/#Status"}]}, "credentialStatus"),
        ({"credentialStatus": status_entries(BASE, "w3c-suite", 1, 7)[:1]}, "credentialStatus"),
        ({"validFrom": "2025-01-01T00:00:00"}, "validFrom"),
    ],
)
def test_the_generic_profile_still_refuses(changes, field):
    with pytest.raises(ValidationError) as err:
        check_credential(generic(**changes))
    assert field in [e.field for e in err.value.errors]


def test_a_typed_credential_keeps_the_strict_profile():
    doc = generic(type=["VerifiableCredential", "DegreeCertificate", "ExampleCredential"])
    with pytest.raises(ValidationError) as err:
        check_credential(doc)
    assert {"@context", "id", "type"} <= {e.field for e in err.value.errors}


# ---------------------------------------------------------------------------- bare credentials


def served(revoked: set[int] = frozenset(), *, signer: SigningKey = KEY, redirect: bool = False):
    issuer = issuer_object(signer.public_key.did, "Agency", "w3c-suite")
    lists = {}
    for purpose in ("revocation", "suspension"):
        url = f"{BASE}/w3c-suite/1/{purpose}"
        lists[url] = build_list_credential(
            url, purpose, issuer, signer, revoked if purpose == "revocation" else (), now=NOW - timedelta(hours=1)
        )
    calls = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        if redirect:
            return httpx.Response(302, headers={"Location": "https://elsewhere.example/list"})
        doc = lists.get(str(request.url))
        return httpx.Response(200, json=doc) if doc else httpx.Response(404)

    return StatusListFetcher(transport=httpx.MockTransport(handle)), calls


def codes(outcome) -> list[str]:
    return [e["code"] for e in outcome.errors]


def test_a_clear_bit_verifies_and_the_list_is_cached():
    fetcher, calls = served()
    outcome = verify_bare(generic(), ("proof", "dataModel", "validity", "status"), fetcher, NOW)
    assert outcome.verified, outcome.errors
    assert [w["code"] for w in outcome.warnings] == ["STATUS_TYPE_UNSUPPORTED"]
    verify_bare(generic(), ("status",), fetcher, NOW)
    assert len(calls) == 2  # each list fetched once, then served from the cache (ttl)


def test_a_revoked_bit_fails_the_status_check():
    fetcher, _ = served({7})
    assert codes(verify_bare(generic(), ("proof", "status"), fetcher, NOW)) == ["REVOKED"]


def test_a_list_signed_by_someone_else_or_moved_is_not_believed():
    fetcher, _ = served(signer=SigningKey.generate())
    assert set(codes(verify_bare(generic(), ("status",), fetcher, NOW))) == {"STATUS_LIST_ISSUER_MISMATCH"}
    fetcher, calls = served(redirect=True)
    outcome = verify_bare(generic(), ("status",), fetcher, NOW)
    assert set(codes(outcome)) == {"STATUS_LIST_UNAVAILABLE"} and outcome.status_code() == 503
    assert all(c.startswith(BASE) for c in calls)  # the redirect was not followed


def test_no_list_is_fetched_for_a_credential_whose_proof_fails():
    fetcher, calls = served()
    doc = generic()
    doc["credentialSubject"][0]["id"] = "did:example:changed"
    outcome = verify_bare(doc, ("proof", "status"), fetcher, NOW)
    assert codes(outcome) == ["INVALID_SIGNATURE"] and calls == []


def test_validity_and_data_model_of_a_bare_credential():
    fetcher, _ = served()
    doc = generic(validUntil="2025-06-01T00:00:00Z")
    assert codes(verify_bare(doc, ("validity",), fetcher, NOW)) == ["EXPIRED"]
    plain = {
        "@context": [V2],
        "type": ["VerifiableCredential"],
        "issuer": KEY.public_key.did,
        "credentialSubject": [{"id": "did:example:a", "undefinedTerm": 1}],
    }
    outcome = verify_bare(plain, ("dataModel",), fetcher, NOW)
    assert outcome.errors[0]["member"] == "credentialSubject[0].undefinedTerm"
    assert not verify_bare(copy.deepcopy(generic()), ("dataModel",), fetcher, NOW).errors


@pytest.mark.parametrize("claims", [{"name": "Alice"}, {"name": "Alice", "score": 0.5, "big": 12345678901234567}])
def test_the_proof_only_fast_path_answers_as_the_full_path(claims):
    from ledger.protocol.strict_json import parse_strict_json_plain
    from verifier.vc_api import verify_credential_body, verify_credential_proof_only

    doc = generic(credentialSubject={"id": "did:example:a", **claims})
    for credential in (doc, {**doc, "validFrom": "2020-01-01T00:00:00Z"}):  # the second no longer verifies
        body = json.dumps({"verifiableCredential": credential, "options": {"checks": ["proof"]}}).encode()
        parsed, plain = parse_strict_json_plain(body)
        assert plain is (len(claims) == 1)
        fast = verify_credential_proof_only(parsed["verifiableCredential"], plain)
        assert fast == verify_credential_body(parsed, service=None, fetcher=None)
