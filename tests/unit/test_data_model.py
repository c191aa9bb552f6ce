"""The VC 2.0 data-model rules (ledger.protocol.data_model) and the bundled contexts (ledger.protocol.jsonld_contexts):
each rule refuses what it must with a stable code naming the member, and accepts the valid forms."""

from __future__ import annotations

import base64
import copy
import hashlib

import pytest

from ledger.protocol import data_model as dm
from ledger.protocol.jsonld_contexts import BUNDLED, ContextNotBundled, context_bytes, document_loader

V2 = "https://www.w3.org/ns/credentials/v2"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"
DID = "did:key:z6MkpJySvETLnxhQG9DzEdmKJtysBDjuuTeDfUj1uNNCUqcj"
BASE = {
    "@context": [V2],
    "type": ["VerifiableCredential"],
    "issuer": DID,
    "credentialSubject": {"id": "did:example:subject"},
}
# The Recommendation's published digest of the v2 context (sha384), and the 2024 draft's
RECOMMENDATION_SRI = "sha384-l/HrjlBCNWyAX91hr6LFV2Y3heB5Tcr6IeE4/Tje8YyzYBM8IhqjHWiWpr8+ZbYU"
DRAFT_SRI = "sha384-NSOcNpmdIVUxIJGvGUoe22FjTWrXiaXlsZ8q6912LdnR3KraQO2n75Ica4wK4Qeg"
DRAFT_MULTIBASE = "uJKGMkOmFbVJhEfKTduMC2XCyvRAYLjOVmZWwIH1wQ7k"


def cred(**changes) -> dict:
    doc = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def violations(doc) -> list[dm.Violation]:
    try:
        dm.check_credential_data_model(doc)
    except dm.DataModelError as exc:
        return exc.violations
    return []


def first(doc) -> tuple[str, str]:
    found = violations(doc)
    assert found, "expected a refusal"
    return found[0].code, found[0].member


# ---------------------------------------------------------------------------------- contexts


def test_the_bundled_v2_context_is_the_recommendations_bytes():
    digest = base64.b64encode(hashlib.sha384(context_bytes(V2)).digest()).decode()
    assert "sha384-" + digest == RECOMMENDATION_SRI
    assert set(BUNDLED) == {V2, EXAMPLES, "https://www.w3.org/ns/credentials/undefined-terms/v2"}


def test_the_loader_serves_only_bundled_contexts():
    assert document_loader(V2)["document"]["@context"]["@protected"] is True
    for url in ("https://example.com", "https://w3id.org/security/data-integrity/v2", "file:///etc/passwd"):
        with pytest.raises(ContextNotBundled):
            document_loader(url)


# ---------------------------------------------------------------------------------- accepted


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"@context": [V2, EXAMPLES], "type": ["VerifiableCredential", "ExampleCredential"]},
        {"@context": [V2, {"Ex": "https://example.org/#Ex"}], "type": ["VerifiableCredential", "Ex"]},
        {"type": ["https://example.org/#A", "VerifiableCredential"]},
        {"id": "https://example.org/credentials/1"},
        {"issuer": {"id": DID, "name": {"@value": "Issuer", "@language": "en", "@direction": "ltr"}}},
        {"name": [{"@value": "Dog", "@language": "en"}, {"@value": "Chien", "@language": "fr"}], "description": "d"},
        {"credentialSubject": [{"id": "did:example:a"}, {"id": "did:example:b"}]},
        {"validFrom": "2023-02-25T19:10:39-06:00", "validUntil": "2023-02-26T01:20:18.477Z"},
        {"credentialSchema": [{"id": "did:example:schemas/1", "type": "https://example.org/#Schema"}]},
        {"credentialStatus": {"type": "https://example.org/#Status"}},
        {"relatedResource": {"id": V2, "digestSRI": RECOMMENDATION_SRI}},
        {"relatedResource": [{"id": V2, "mediaType": "application/ld+json", "digestSRI": RECOMMENDATION_SRI}]},
    ],
)
def test_conforming_credentials_pass(changes):
    assert violations(cred(**changes)) == []


def test_a_digest_multibase_of_the_bundled_bytes_passes():
    raw = hashlib.sha256(context_bytes(V2)).digest()
    for value in (
        "u" + base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "u" + base64.urlsafe_b64encode(b"\x12\x20" + raw).decode().rstrip("="),
    ):
        assert violations(cred(relatedResource=[{"id": V2, "digestMultibase": value}])) == []


# ---------------------------------------------------------------------------------- refused


@pytest.mark.parametrize(
    "changes, code, member",
    [
        ({"@context": None}, dm.CONTEXT_INVALID, "@context"),
        ({"@context": V2}, dm.CONTEXT_INVALID, "@context"),
        ({"@context": [EXAMPLES]}, dm.CONTEXT_INVALID, "@context[0]"),
        ({"@context": [V2, "https ://not-a-url/contexts/v1"]}, dm.CONTEXT_INVALID, "@context[1]"),
        ({"@context": [V2, 123192875]}, dm.CONTEXT_INVALID, "@context[1]"),
        ({"id": None}, None, None),
        ({"id": ["https://example.org/1", "https://example.net/1"]}, dm.ID_INVALID, "id"),
        ({"id": "https ://not-a-url/vcs/1"}, dm.ID_INVALID, "id"),
        ({"type": None}, dm.TYPE_INVALID, "type"),
        ({"type": ["RelationshipCredential"]}, dm.TYPE_INVALID, "type"),
        ({"issuer": None}, dm.ISSUER_INVALID, "issuer"),
        ({"issuer": "fake-issuer"}, dm.ISSUER_INVALID, "issuer"),
        ({"issuer": {"id": None}}, dm.ISSUER_INVALID, "issuer.id"),
        (
            {"issuer": {"id": DID, "name": {"@value": "x", "@language": "en", "url": "did:example:x"}}},
            dm.LANGUAGE_VALUE_INVALID,
            "issuer.name",
        ),
        ({"description": {"@value": "x", "extra": 1}}, dm.LANGUAGE_VALUE_INVALID, "description"),
        ({"credentialSubject": None}, dm.SUBJECT_INVALID, "credentialSubject"),
        ({"credentialSubject": {}}, dm.SUBJECT_INVALID, "credentialSubject"),
        ({"credentialSubject": [{"id": "did:example:a"}, {}]}, dm.SUBJECT_INVALID, "credentialSubject[1]"),
        ({"credentialSubject": {"id": ["did:example:a", "did:example:b"]}}, dm.SUBJECT_INVALID, "credentialSubject.id"),
        ({"evidence": {}}, dm.TYPE_INVALID, "evidence.type"),
        ({"termsOfUse": {"id": "did:example:terms/1"}}, dm.TYPE_INVALID, "termsOfUse.type"),
        ({"refreshService": {"id": "did:example:refresh/1"}}, dm.TYPE_INVALID, "refreshService.type"),
        ({"credentialSchema": {"id": "did:example:schemas/1"}}, dm.TYPE_INVALID, "credentialSchema.type"),
        ({"credentialSchema": {"type": "https://example.org/#S"}}, dm.TYPED_OBJECT_INVALID, "credentialSchema.id"),
        (
            {"credentialSchema": {"type": "https://example.org/#S", "id": "https ://x"}},
            dm.TYPED_OBJECT_INVALID,
            "credentialSchema.id",
        ),
        ({"credentialStatus": {"id": "did:example:status"}}, dm.TYPE_INVALID, "credentialStatus.type"),
        ({"credentialStatus": {"type": 2}}, dm.TYPE_INVALID, "credentialStatus.type"),
        (
            {"credentialStatus": {"type": "https://example.org/#S", "id": ["did:example:1", "did:example:2"]}},
            dm.TYPED_OBJECT_INVALID,
            "credentialStatus.id",
        ),
        ({"validFrom": "Sat 25 Feb 2023 07:16:31 PM CST"}, dm.DATE_INVALID, "validFrom"),
        ({"validFrom": "2023-02-26T01:21:51"}, dm.DATE_INVALID, "validFrom"),
        (
            {"validFrom": "2024-01-02T00:00:00Z", "validUntil": "2024-01-01T00:00:00Z"},
            dm.VALIDITY_INVERTED,
            "validUntil",
        ),
        ({"relatedResource": [V2]}, dm.RELATED_RESOURCE_INVALID, "relatedResource[0]"),
        (
            {"relatedResource": [{"digestSRI": RECOMMENDATION_SRI}]},
            dm.RELATED_RESOURCE_INVALID,
            "relatedResource[0].id",
        ),
        ({"relatedResource": [{"id": V2}]}, dm.RELATED_RESOURCE_INVALID, "relatedResource[0]"),
        (
            {
                "relatedResource": [
                    {"id": V2, "digestSRI": RECOMMENDATION_SRI},
                    {"id": V2, "digestSRI": RECOMMENDATION_SRI},
                ]
            },
            dm.RELATED_RESOURCE_INVALID,
            "relatedResource[1].id",
        ),
        (
            {"relatedResource": {"id": V2, "digestSRI": DRAFT_SRI}},
            dm.RELATED_RESOURCE_DIGEST_MISMATCH,
            "relatedResource.digestSRI",
        ),
        (
            {"relatedResource": {"id": V2, "digestMultibase": DRAFT_MULTIBASE}},
            dm.RELATED_RESOURCE_DIGEST_MISMATCH,
            "relatedResource.digestMultibase",
        ),
        (
            {"relatedResource": {"id": V2, "digestSRI": "md5-abc"}},
            dm.RELATED_RESOURCE_INVALID,
            "relatedResource.digestSRI",
        ),
    ],
)
def test_each_rule_refuses_with_a_code_naming_the_member(changes, code, member):
    doc = cred(**changes)
    if code is None:  # an absent id is fine; a null one is not
        doc["id"] = None
        code, member = dm.ID_INVALID, "id"
    assert first(doc) == (code, member)


@pytest.mark.parametrize(
    "changes, code, member",
    [
        # a term no context defines: JSON-LD would drop it
        (
            {"credentialSubject": {"id": "did:example:s", "degree": "BSc"}},
            dm.TERM_UNDEFINED,
            "credentialSubject.degree",
        ),
        # an unmapped type ({"@vocab": null} after the base context)
        (
            {"@context": [V2, {"@vocab": None}], "type": ["VerifiableCredential", "ExampleTestCredential"]},
            dm.IRI_INVALID,
            "type",
        ),
        # a type mapped to something that is not a URL
        (
            {
                "@context": [V2, {"ExampleTestCredential": "https ://not-a-url#ExampleTestCredential"}],
                "type": ["VerifiableCredential", "ExampleTestCredential"],
            },
            dm.IRI_INVALID,
            "@context",
        ),
        # a redefined @protected term of the base context
        (
            {"@context": [V2, {"VerifiableCredential": "https://example.org/#Bad"}]},
            dm.PROTECTED_TERM_REDEFINED,
            "@context",
        ),
        (
            {
                "@context": [
                    V2,
                    {"@protected": True, "Ex": "https://example.org/#Ex"},
                    {"Ex": "https://example.org/#Bad"},
                ],
                "type": ["VerifiableCredential", "Ex"],
            },
            dm.PROTECTED_TERM_REDEFINED,
            "@context",
        ),
        # a context CertLedger does not bundle is never fetched
        ({"@context": [V2, "https://example.com/context"]}, dm.CONTEXT_NOT_BUNDLED, "@context[1]"),
    ],
)
def test_json_ld_safe_mode(changes, code, member):
    assert first(cred(**changes)) == (code, member)


def test_a_url_issuer_with_examples_vocab_defines_every_term():
    doc = cred(**{"@context": [V2, EXAMPLES], "credentialSubject": {"id": "did:example:s", "degree": "BSc"}})
    assert violations(doc) == []


def test_a_relatedResource_it_cannot_read_is_checked_for_its_form_and_reported():
    unchecked: list[str] = []
    doc = cred(relatedResource={"id": "https://example.org/logo.png", "digestSRI": RECOMMENDATION_SRI})
    dm.check_credential_data_model(doc, unchecked_resources=unchecked)
    assert unchecked == ["https://example.org/logo.png"]


def test_is_url():
    for good in ("https://example.org/x", "did:example:123", "urn:uuid:1234", "did:key:z6Mk"):
        assert dm.is_url(good)
    for bad in ("https ://x", "fake-issuer", "", None, 3, "http://", "https://exa mple.org", "a:"):
        assert not dm.is_url(bad)


# ------------------------------------------------------------------------------ presentations


VP = {"@context": [V2], "type": ["VerifiablePresentation"]}


@pytest.mark.parametrize(
    "changes, code, member",
    [
        ({"@context": [{"X": "https://example.org/#X"}, V2]}, dm.CONTEXT_INVALID, "@context[0]"),
        ({"@context": [EXAMPLES]}, dm.CONTEXT_INVALID, "@context[0]"),
        ({"type": ["CredentialManagerPresentation"]}, dm.TYPE_INVALID, "type"),
        ({"holder": "not a url"}, dm.HOLDER_INVALID, "holder"),
        ({"holder": {"name": "x"}}, dm.HOLDER_INVALID, "holder.id"),
        (
            {"verifiableCredential": ["https://example.org/vc/1"]},
            dm.PRESENTATION_CREDENTIAL_INVALID,
            "verifiableCredential[0]",
        ),
    ],
)
def test_presentation_rules(changes, code, member):
    doc = {**copy.deepcopy(VP), **changes}
    with pytest.raises(dm.DataModelError) as err:
        dm.check_presentation_data_model(doc)
    assert (err.value.code, err.value.member) == (code, member)


def test_a_plain_presentation_passes():
    dm.check_presentation_data_model(
        {**VP, "holder": {"id": DID}, "id": "urn:uuid:9c9a36f8-518f-4976-a934-6649502d0008"}
    )
