"""Credential model: types and schema validation before signing, issue, format check."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from ledger.protocol.credential import (
    CREDENTIAL_CONTEXT,
    UNDEFINED_TERMS_CONTEXT,
    VC_V2_CONTEXT,
    Issuer,
    build_credential,
    check_credential,
    issue_credential,
)
from ledger.protocol.credential_types import BUILTIN_TYPES, CredentialType
from ledger.protocol.digest import credential_digest
from ledger.protocol.errors import FieldError, ValidationError
from ledger.protocol.identifiers import agency_id, type_id
from ledger.protocol.keys import SigningKey
from ledger.protocol.proof import verify_proof
from ledger.protocol.status_list import status_entries

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
CREATED = datetime(2024, 7, 1, 9, 30, tzinfo=UTC)
STATUS_BASE = "https://status.example.gov.cn/status"
STATUS = status_entries(STATUS_BASE, "zj-hz-education", 3, 4711)


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


def issue(key, **kw):
    kw.setdefault("status", STATUS)
    return issue_credential(DEGREE, kw.pop("subject", SUBJECT), ISSUER, key, created=CREATED, **kw)


def test_issue_produces_the_design_shape(key):
    c = issue(key, valid_until="2034-07-01T00:00:00Z")
    assert c["@context"] == [VC_V2_CONTEXT, UNDEFINED_TERMS_CONTEXT] == list(CREDENTIAL_CONTEXT)
    assert c["id"].startswith("urn:uuid:")
    assert c["type"] == ["VerifiableCredential", "DegreeCertificate"]
    assert c["issuer"] == {
        "id": key.public_key.did,
        "name": "杭州市教育局",
        "agency": "urn:certledger:agency:zj-hz-education",
    }
    url = f"{STATUS_BASE}/zj-hz-education/3"
    assert c["credentialStatus"] == [
        {
            "id": f"{url}/revocation#4711",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "4711",
            "statusListCredential": f"{url}/revocation",
        },
        {
            "id": f"{url}/suspension#4711",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "suspension",
            "statusListIndex": "4711",
            "statusListCredential": f"{url}/suspension",
        },
    ]
    assert c["validFrom"] == "2024-07-01T09:30:00Z" and c["validUntil"] == "2034-07-01T00:00:00Z"
    assert c["credentialSubject"] == SUBJECT
    p = c["proof"]
    assert (p["type"], p["cryptosuite"], p["proofPurpose"]) == (
        "DataIntegrityProof",
        "eddsa-jcs-2022",
        "assertionMethod",
    )
    assert p["created"] == "2024-07-01T09:30:00Z"
    assert (
        p["verificationMethod"]
        == key.public_key.verification_method
        == c["issuer"]["id"] + "#" + key.public_key.multibase
    )
    assert p["proofValue"].startswith("z")
    assert verify_proof(c).public_key == key.public_key


def test_check_credential_view(key):
    c = issue(key)
    v = check_credential(c)
    assert v.type_name == "DegreeCertificate" and v.type_id == type_id("DegreeCertificate")
    assert v.agency_code == "zj-hz-education" and v.agency_id == agency_id("zj-hz-education")
    assert v.agency == "urn:certledger:agency:zj-hz-education" and v.issuer_name == "杭州市教育局"
    assert v.issuer_did == key.public_key.did and v.public_key_raw == key.public_key.raw
    assert v.valid_from == CREATED and v.valid_until is None and v.proof_created == CREATED
    assert v.id == c["id"]
    assert v.status.index == 4711
    assert v.status.lists == {p: f"{STATUS_BASE}/zj-hz-education/3/{p}" for p in ("revocation", "suspension")}


def test_explicit_id_and_validity(key):
    c = issue(
        key, credential_id="urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33", valid_from=datetime(2024, 9, 1, tzinfo=UTC)
    )
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
                    "items": {
                        "type": "object",
                        "properties": {"score": {"type": "integer", "maximum": 100}},
                        "required": ["score"],
                    },
                },
                "kind": {"enum": ["a", "b"]},
                "at": {"type": "string", "format": "date-time"},
            },
        },
    )
    errs = t.subject_errors({"courses": [{"score": 90}, {"score": 101}, {}], "kind": "c", "at": "2024-01-01"})
    assert errs == sorted(
        [
            FieldError("credentialSubject.at", "is not a valid date-time"),
            FieldError("credentialSubject.courses[1].score", "must be at most 100"),
            FieldError("credentialSubject.courses[2].score", "is required"),
            FieldError("credentialSubject.kind", 'must be one of "a", "b"'),
        ]
    )
    assert t.subject_errors({"at": "2024-01-01T00:00:00Z"}) == []


def test_subject_must_be_an_object(key):
    with pytest.raises(ValidationError) as e:
        issue(key, subject=["x"])
    assert e.value.errors[0].field == "credentialSubject"


def test_bad_dates_and_ids_are_field_errors():
    with pytest.raises(ValidationError) as e:
        build_credential(
            DEGREE,
            SUBJECT,
            ISSUER,
            SigningKey.generate().public_key,
            status=STATUS,
            valid_from="2024-07-01",
            credential_id="123",
        )
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
    assert set(BUILTIN_TYPES) >= {
        "DegreeCertificate",
        "ResidenceCertificate",
        "NoCriminalRecordCertificate",
        "ApprovalDecision",
    }
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
    (lambda c: c.__setitem__("@context", [VC_V2_CONTEXT]), "@context"),
    (lambda c: c.__setitem__("@context", [VC_V2_CONTEXT, {"@vocab": "https://example.com/#"}]), "@context"),
    (lambda c: c.__setitem__("id", "http://example.com/1"), "id"),
    (lambda c: c.__setitem__("type", ["VerifiableCredential"]), "type"),
    (lambda c: c.__setitem__("type", ["VerifiableCredential", "bad name"]), "type[1]"),
    (lambda c: c.__setitem__("issuer", "urn:certledger:agency:zj-hz-education"), "issuer"),
    (lambda c: c["issuer"].__setitem__("id", "did:web:example.com"), "issuer.id"),
    (lambda c: c["issuer"].__setitem__("id", "urn:certledger:agency:zj-hz-education"), "issuer.id"),
    (lambda c: c["issuer"].pop("agency"), "issuer.agency"),
    (lambda c: c["issuer"].__setitem__("agency", "urn:certledger:agency:ZJ"), "issuer.agency"),
    (lambda c: c["issuer"].pop("name"), "issuer.name"),
    (lambda c: c.pop("credentialStatus"), "credentialStatus"),
    (lambda c: c["credentialStatus"].pop(), "credentialStatus"),
    (lambda c: c["credentialStatus"][0].__setitem__("type", "StatusList2021Entry"), "credentialStatus[0].type"),
    (
        lambda c: c["credentialStatus"][1].__setitem__("statusPurpose", "revocation"),
        "credentialStatus[1].statusPurpose",
    ),
    (lambda c: c["credentialStatus"][0].__setitem__("statusListIndex", 4711), "credentialStatus[0].statusListIndex"),
    (lambda c: c["credentialStatus"][0].__setitem__("statusListIndex", "04711"), "credentialStatus[0].statusListIndex"),
    (
        lambda c: c["credentialStatus"][1].update(
            statusListIndex="4712", id=c["credentialStatus"][1]["id"][:-4] + "4712"
        ),
        "credentialStatus[1].statusListIndex",
    ),
    (lambda c: c["credentialStatus"][1].__setitem__("statusListIndex", "4712"), "credentialStatus[1].id"),
    (
        lambda c: c["credentialStatus"][0].__setitem__("statusListCredential", "ftp://x/1"),
        "credentialStatus[0].statusListCredential",
    ),
    (lambda c: c["credentialStatus"][0].__setitem__("id", "urn:uuid:1"), "credentialStatus[0].id"),
    (lambda c: c["credentialSubject"].__setitem__("serial", 2**53), "credentialSubject.serial"),
    (lambda c: c["credentialSubject"].__setitem__("serial", 9007199254740992.0), "credentialSubject.serial"),
    (lambda c: c["credentialSubject"].__setitem__("list", [1, -(2**60)]), "credentialSubject.list[1]"),
    (lambda c: c["credentialSubject"].__setitem__("x", float("nan")), "credentialSubject.x"),
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
    (
        lambda c: c["proof"].__setitem__("verificationMethod", SigningKey.generate().public_key.verification_method),
        "proof.verificationMethod",
    ),
    (lambda c: c["proof"].__setitem__("verificationMethod", c["issuer"]["id"]), "proof.verificationMethod"),
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

    from ledger.protocol.credential import new_credential_id

    ids = [new_credential_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for cid in ids:
        assert cid.startswith("urn:uuid:")
        parsed = uuid.UUID(cid[len("urn:uuid:") :])
        assert str(parsed) == cid[len("urn:uuid:") :]  # canonical lowercase, hyphenated
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    # the 122 random bits do vary: each hex digit outside the fixed version/variant ones takes many values
    hexes = [cid[len("urn:uuid:") :].replace("-", "") for cid in ids]
    for position in (0, 11, 13, 17, 31):
        assert len({h[position] for h in hexes}) > 8
    assert {h[12] for h in hexes} == {"4"} and {h[16] for h in hexes} <= set("89ab")


# ------------------------------------------------------------- I-JSON numbers at issuance


NUMERIC = CredentialType(
    "ScoreRecord", {"type": "object", "properties": {"score": {"type": "number"}, "items": {"type": "array"}}}
)


@pytest.mark.parametrize(
    "value", [9007199254740993, 9007199254740992, -(2**53), 9007199254740992.0, 1e300, float("inf"), float("nan")]
)
def test_numbers_a_double_cannot_hold_exactly_are_refused_before_signing(key, value):
    with pytest.raises(ValidationError) as e:
        issue_credential(NUMERIC, {"score": value}, ISSUER, key, status=STATUS, created=CREATED)
    assert [x.field for x in e.value.errors] == ["credentialSubject.score"]


@pytest.mark.parametrize("value", [0, 2**53 - 1, -(2**53 - 1), 0.5, 1e-7, 123456.75])
def test_i_json_numbers_are_issued_and_pass_the_format_check(key, value):
    c = issue_credential(NUMERIC, {"score": value, "items": [value]}, ISSUER, key, status=STATUS, created=CREATED)
    check_credential(c)
    verify_proof(c)


def test_a_nested_big_integer_is_named_by_its_path(key):
    with pytest.raises(ValidationError) as e:
        issue_credential(NUMERIC, {"items": [1, {"deep": [2**63]}]}, ISSUER, key, status=STATUS, created=CREATED)
    assert [x.field for x in e.value.errors] == ["credentialSubject.items[1].deep[0]"]


def test_status_entries_are_checked_before_signing(key):
    bad = copy.deepcopy(STATUS)
    bad[1]["statusListIndex"] = "1"
    bad[1]["id"] = bad[1]["statusListCredential"] + "#1"
    with pytest.raises(ValidationError) as e:
        issue(key, status=bad)
    assert "credentialSubject" not in {x.field for x in e.value.errors}
    assert {x.field for x in e.value.errors} == {"credentialStatus[1].statusListIndex"}
