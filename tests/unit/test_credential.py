"""Credential model: types and schema validation before signing, issue, format check."""

from __future__ import annotations

import copy
from datetime import datetime, timezone

import pytest

from ledger.credential import VC_V2_CONTEXT, Issuer, build_credential, check_credential, issue_credential
from ledger.credential_types import BUILTIN_TYPES, CredentialType
from ledger.digest import credential_digest
from ledger.errors import FieldError, ValidationError
from ledger.identifiers import agency_id, type_id
from ledger.keys import SigningKey
from ledger.proof import verify_proof

DEGREE = BUILTIN_TYPES["DegreeCertificate"]
ISSUER = Issuer("zj-hz-education", "杭州市教育局")
SUBJECT = {
    "name": "张三",
    "idNumber": "33010619900101123X",
    "degree": "Bachelor of Engineering",
    "major": "Computer Science",
    "institution": "Zhejiang University",
    "graduationDate": "2024-06-30",
}
CREATED = datetime(2024, 7, 1, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


def issue(key, **kw):
    return issue_credential(DEGREE, kw.pop("subject", SUBJECT), ISSUER, key, created=CREATED, **kw)


def test_issue_produces_the_design_shape(key):
    c = issue(key, valid_until="2034-07-01T00:00:00Z")
    assert c["@context"] == [VC_V2_CONTEXT]
    assert c["id"].startswith("urn:uuid:")
    assert c["type"] == ["VerifiableCredential", "DegreeCertificate"]
    assert c["issuer"] == {"id": "urn:certledger:agency:zj-hz-education", "name": "杭州市教育局"}
    assert c["validFrom"] == "2024-07-01T09:30:00Z" and c["validUntil"] == "2034-07-01T00:00:00Z"
    assert c["credentialSubject"] == SUBJECT
    p = c["proof"]
    assert (p["type"], p["cryptosuite"], p["proofPurpose"]) == ("DataIntegrityProof", "eddsa-jcs-2022", "assertionMethod")
    assert p["created"] == "2024-07-01T09:30:00Z"
    assert p["verificationMethod"] == key.public_key.verification_method
    assert p["proofValue"].startswith("z")
    assert verify_proof(c).public_key == key.public_key


def test_check_credential_view(key):
    c = issue(key)
    v = check_credential(c)
    assert v.type_name == "DegreeCertificate" and v.type_id == type_id("DegreeCertificate")
    assert v.agency_code == "zj-hz-education" and v.agency_id == agency_id("zj-hz-education")
    assert v.issuer_id == "urn:certledger:agency:zj-hz-education" and v.issuer_name == "杭州市教育局"
    assert v.valid_from == CREATED and v.valid_until is None and v.proof_created == CREATED
    assert v.public_key == key.public_key and v.id == c["id"]


def test_explicit_id_and_validity(key):
    c = issue(key, credential_id="urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33", valid_from=datetime(2024, 9, 1, tzinfo=timezone.utc))
    assert c["id"] == "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33"
    assert c["validFrom"] == "2024-09-01T00:00:00Z"


def test_issuance_is_deterministic_given_the_same_inputs(key):
    cid = "urn:uuid:00000000-0000-4000-8000-000000000000"
    assert credential_digest(issue(key, credential_id=cid)) == credential_digest(issue(key, credential_id=cid))


def test_schema_errors_name_each_field_before_signing(key):
    bad = {"name": "", "idNumber": "123", "degree": 5, "graduationDate": "2024-02-30", "nickname": "x"}
    with pytest.raises(ValidationError) as e:
        issue(key, subject=bad, valid_until="2020-01-01T00:00:00Z")
    fields = {err.field: err.reason for err in e.value.errors}
    assert fields == {
        "credentialSubject.name": "must have at least 1 characters",
        "credentialSubject.idNumber": "does not match the required pattern ^[0-9]{17}[0-9X]$",
        "credentialSubject.degree": "must be of type string",
        "credentialSubject.major": "is required",
        "credentialSubject.institution": "is required",
        "credentialSubject.graduationDate": "is not a valid date",
        "credentialSubject.nickname": "is not a field of this credential type",
        "validUntil": "must be later than validFrom",
    }
    assert {"field": "credentialSubject.major", "reason": "is required"} in e.value.to_list()


def test_nested_and_array_paths():
    t = CredentialType(
        "TranscriptRecord",
        {
            "type": "object",
            "properties": {
                "courses": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"score": {"type": "integer", "maximum": 100}}, "required": ["score"]},
                },
                "kind": {"enum": ["a", "b"]},
                "at": {"type": "string", "format": "date-time"},
            },
        },
    )
    errs = t.subject_errors({"courses": [{"score": 90}, {"score": 101}, {}], "kind": "c", "at": "2024-01-01"})
    assert errs == sorted([
        FieldError("credentialSubject.at", "is not a valid date-time"),
        FieldError("credentialSubject.courses[1].score", "must be at most 100"),
        FieldError("credentialSubject.courses[2].score", "is required"),
        FieldError("credentialSubject.kind", 'must be one of "a", "b"'),
    ])
    assert t.subject_errors({"at": "2024-01-01T00:00:00Z"}) == []


def test_subject_must_be_an_object(key):
    with pytest.raises(ValidationError) as e:
        issue(key, subject=["x"])
    assert e.value.errors[0].field == "credentialSubject"


def test_bad_dates_and_ids_are_field_errors():
    with pytest.raises(ValidationError) as e:
        build_credential(DEGREE, SUBJECT, ISSUER, valid_from="2024-07-01", credential_id="123")
    assert {x.field for x in e.value.errors} == {"validFrom", "id"}


def test_credential_type_definition_errors(tmp_path):
    with pytest.raises(ValueError, match="not valid JSON Schema"):
        CredentialType("BadSchema", {"type": "object", "properties": {"a": {"type": "nonsense"}}})
    with pytest.raises(ValueError, match="object"):
        CredentialType("ArraySubject", {"type": "array"})
    with pytest.raises(ValueError):
        CredentialType("bad name", {"type": "object"})
    f = tmp_path / "schema.json"
    f.write_text('{"type": "object", "required": ["x"]}')
    t = CredentialType.from_schema_file("LicenceRecord", f)
    assert t.type_id == type_id("LicenceRecord")
    assert CredentialType.from_dict(t.to_dict()) == t
    with pytest.raises(ValueError, match="not valid JSON"):
        f.write_text("{")
        CredentialType.from_schema_file("LicenceRecord", f)


def test_builtin_types_are_valid_and_distinct():
    assert set(BUILTIN_TYPES) >= {"DegreeCertificate", "ResidenceCertificate", "NoCriminalRecordCertificate", "ApprovalDecision"}
    assert len({t.type_id for t in BUILTIN_TYPES.values()}) == len(BUILTIN_TYPES)


def test_issuer_validation():
    with pytest.raises(ValueError):
        Issuer("ZJ", "x")
    with pytest.raises(ValueError):
        Issuer("zj-hz-education", " ")
    assert ISSUER.agency_id == agency_id("zj-hz-education")


# ------------------------------------------------------------- format check

MUTATIONS = [
    (lambda c: c.__setitem__("@context", ["https://www.w3.org/2018/credentials/v1"]), "@context"),
    (lambda c: c.__setitem__("@context", "https://www.w3.org/ns/credentials/v2"), "@context"),
    (lambda c: c.__setitem__("id", "http://example.com/1"), "id"),
    (lambda c: c.__setitem__("type", ["VerifiableCredential"]), "type"),
    (lambda c: c.__setitem__("type", ["VerifiableCredential", "bad name"]), "type[1]"),
    (lambda c: c.__setitem__("issuer", "urn:certledger:agency:zj-hz-education"), "issuer"),
    (lambda c: c["issuer"].__setitem__("id", "did:web:example.com"), "issuer.id"),
    (lambda c: c["issuer"].__setitem__("id", "urn:certledger:agency:ZJ"), "issuer.id"),
    (lambda c: c["issuer"].pop("name"), "issuer.name"),
    (lambda c: c.pop("validFrom"), "validFrom"),
    (lambda c: c.__setitem__("validFrom", "2024-07-01T17:30:00+08:00"), "validFrom"),
    (lambda c: c.__setitem__("validUntil", "2000-01-01T00:00:00Z"), "validUntil"),
    (lambda c: c.__setitem__("credentialSubject", [{}]), "credentialSubject"),
    (lambda c: c.pop("proof"), "proof"),
    (lambda c: c.__setitem__("proof", [c["proof"]]), "proof"),
    (lambda c: c["proof"].__setitem__("cryptosuite", "eddsa-rdfc-2022"), "proof.cryptosuite"),
    (lambda c: c["proof"].__setitem__("type", "Ed25519Signature2020"), "proof.type"),
    (lambda c: c["proof"].__setitem__("proofPurpose", "authentication"), "proof.proofPurpose"),
    (lambda c: c["proof"].pop("created"), "proof.created"),
    (lambda c: c["proof"].__setitem__("created", "now"), "proof.created"),
    (lambda c: c["proof"].__setitem__("verificationMethod", "https://example.com/keys/1"), "proof.verificationMethod"),
    (lambda c: c["proof"].__setitem__("proofValue", 12), "proof.proofValue"),
]


@pytest.mark.parametrize("mutate,field", MUTATIONS)
def test_format_check_names_the_field(key, mutate, field):
    c = copy.deepcopy(issue(key))
    mutate(c)
    with pytest.raises(ValidationError) as e:
        check_credential(c)
    assert field in {x.field for x in e.value.errors}


def test_format_check_reports_all_problems_at_once(key):
    c = copy.deepcopy(issue(key))
    c["id"] = "x"
    c["validFrom"] = "y"
    with pytest.raises(ValidationError) as e:
        check_credential(c)
    assert {x.field for x in e.value.errors} == {"id", "validFrom"}
    with pytest.raises(ValidationError):
        check_credential("not an object")


def test_new_credential_ids_are_random_version_4_uuids():
    import uuid

    from ledger.credential import new_credential_id

    ids = [new_credential_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for cid in ids:
        assert cid.startswith("urn:uuid:")
        parsed = uuid.UUID(cid[len("urn:uuid:"):])
        assert str(parsed) == cid[len("urn:uuid:"):]          # canonical lowercase, hyphenated
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    # the 122 random bits do vary: each hex digit outside the fixed version/variant ones takes many values
    hexes = [cid[len("urn:uuid:"):].replace("-", "") for cid in ids]
    for position in (0, 11, 13, 17, 31):
        assert len({h[position] for h in hexes}) > 8
    assert {h[12] for h in hexes} == {"4"} and {h[16] for h in hexes} <= set("89ab")
