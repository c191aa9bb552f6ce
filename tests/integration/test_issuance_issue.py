"""Issuing credentials into the database, on SQLite and PostgreSQL: one, many, idempotent retries,
refusals with the fields at fault, personal data encrypted at rest."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text

from ledger.issuance import (
    AgencyNotFound,
    BulkRejected,
    IdempotencyConflict,
    TypeNotPermitted,
    UnknownCredentialType,
    audit_log,
    get_bundle,
    get_credential,
    issue_file,
    issue_many,
    issue_one,
    register_type,
    rows_from_objects,
)
from ledger.issuance.stored_credentials import StoredCredentialCorrupted
from ledger.protocol.credential import check_credential
from ledger.protocol.credential_types import CredentialType
from ledger.protocol.digest import credential_digest_hex
from ledger.protocol.errors import ValidationError
from ledger.protocol.proof import verify_proof
from ledger.storage.at_rest import WrongStoragePassphrase, cipher_for_database
from ledger.storage.models import IdempotencyRecord
from ledger.storage.tables import BODY, CRED
from tests.integration.issuance_support import (  # noqa: F401  (pytest fixtures)
    CIVIL,
    DEGREE,
    EDU,
    RESIDENCE,
    TEST_PASSPHRASE,
    ctx,
    degree_subject,
    issuer_world,
    residence_subject,
)

pytestmark = pytest.mark.integration


def test_issue_one_signs_validates_and_stores_pending(ctx):
    issued = issue_one(ctx, EDU, DEGREE, degree_subject(id="did:example:holder-1"), actor="api-key:k1")
    assert issued.state == "pending" and not issued.replayed
    assert list(issued.credential)[:3] == ["@context", "id", "type"]  # as built, not re-ordered
    view = check_credential(issued.credential)
    assert view.type_name == DEGREE and view.agency_code == EDU
    verify_proof(issued.credential)
    assert credential_digest_hex(issued.credential) == issued.digest
    with ctx.engine.connect() as conn:
        row = conn.execute(select(CRED).where(CRED.c.id == issued.id)).one()
    assert (row.state, row.type_name, row.subject_id, row.digest) == (
        "pending",
        DEGREE,
        "did:example:holder-1",
        issued.digest,
    )
    assert row.valid_from is not None and row.issued_at.tzinfo is not None
    # the bundle exists before anchoring, with anchor null
    bundle = get_bundle(ctx, EDU, issued.id)
    assert bundle.anchor is None and bundle.credential == issued.credential
    events = audit_log(ctx, EDU, action="issue").items
    assert [(e.subject, e.actor) for e in events] == [(issued.id, "api-key:k1")]


def test_personal_data_is_encrypted_at_rest(ctx):
    issued = issue_one(ctx, EDU, DEGREE, degree_subject("王小明"))
    with ctx.engine.connect() as conn:
        raw = conn.execute(select(BODY.c.sealed_credential).where(BODY.c.credential_id == issued.id)).scalar_one()
        dump = " ".join(str(v) for table in (CRED, BODY) for row in conn.execute(select(table)).all() for v in row)
    for secret in ("王小明", "330106199001011234", "计算机"):
        assert secret.encode("utf-8") not in bytes(raw) and secret not in dump
    assert get_credential(ctx, EDU, issued.id) == issued.credential
    # a wrong passphrase is reported as such
    with pytest.raises(WrongStoragePassphrase):
        cipher_for_database(ctx.engine, TEST_PASSPHRASE + "!", n=2**10)
    # an encrypted value moved onto another row does not decrypt
    other = issue_one(ctx, EDU, DEGREE, degree_subject("李雷"))
    with ctx.engine.begin() as conn:
        conn.execute(BODY.update().where(BODY.c.credential_id == other.id).values(sealed_credential=raw))
    with pytest.raises(Exception, match="does not decrypt"):
        get_credential(ctx, EDU, other.id)
    # stored in RFC 8785 form: the content is checked against the digest kept in clear
    third = issue_one(ctx, EDU, DEGREE, degree_subject("韩梅梅"))
    with ctx.engine.begin() as conn:
        conn.execute(CRED.update().where(CRED.c.id == third.id).values(digest="0x" + "00" * 32))
    with pytest.raises(StoredCredentialCorrupted):
        get_credential(ctx, EDU, third.id)


def test_schema_errors_name_every_field(ctx):
    bad = degree_subject(graduationDate="30/06/2024", nickname="x")
    del bad["degree"]
    with pytest.raises(ValidationError) as err:
        issue_one(ctx, EDU, DEGREE, bad)
    fields = {e.field for e in err.value.errors}
    assert fields == {"credentialSubject.degree", "credentialSubject.graduationDate", "credentialSubject.nickname"}
    with pytest.raises(ValidationError) as err:
        issue_one(
            ctx, EDU, DEGREE, degree_subject(), valid_from="2024-02-01T00:00:00Z", valid_until="2024-01-01T00:00:00Z"
        )
    assert [e.field for e in err.value.errors] == ["validUntil"]
    with ctx.engine.connect() as conn:
        assert conn.execute(select(CRED.c.id)).all() == []


def test_refusals_unknown_type_type_not_permitted_unknown_agency(ctx):
    with pytest.raises(UnknownCredentialType):
        issue_one(ctx, EDU, "MarriageCertificate", {"name": "x"})
    with pytest.raises(TypeNotPermitted):
        issue_one(ctx, EDU, RESIDENCE, residence_subject())
    with pytest.raises(AgencyNotFound):
        issue_one(ctx, "zj-unknown", DEGREE, degree_subject())
    # a type added to the installation is known, but still not permitted until granted to the agency
    register_type(ctx, CredentialType("LibraryCard", {"type": "object", "properties": {"name": {"type": "string"}}}))
    with pytest.raises(TypeNotPermitted):
        issue_one(ctx, EDU, "LibraryCard", {"name": "x"})


def test_idempotent_retry_returns_the_same_credential(ctx):
    first = issue_one(ctx, EDU, DEGREE, degree_subject(), idempotency_key="order-42")
    again = issue_one(ctx, EDU, DEGREE, degree_subject(), idempotency_key="order-42")
    assert again.replayed and again.id == first.id and again.credential == first.credential
    with pytest.raises(IdempotencyConflict):
        issue_one(ctx, EDU, DEGREE, degree_subject("someone else"), idempotency_key="order-42")
    # keys are per agency: the civil bureau may use the same key for its own request
    other = issue_one(ctx, CIVIL, RESIDENCE, residence_subject(), idempotency_key="order-42")
    assert other.id != first.id
    with ctx.engine.connect() as conn:
        assert conn.execute(select(CRED.c.id).where(CRED.c.agency_code == EDU)).scalars().all() == [first.id]
    with pytest.raises(ValidationError):
        issue_one(ctx, EDU, DEGREE, degree_subject(), idempotency_key="has space")


def test_concurrent_retries_with_one_key_issue_once(ctx):
    results, errors = [], []

    def go():
        try:
            results.append(issue_one(ctx, EDU, DEGREE, degree_subject(), idempotency_key="race-1"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({r.id for r in results}) == 1
    assert sum(not r.replayed for r in results) >= 1
    with ctx.engine.connect() as conn:
        assert conn.execute(select(CRED.c.id)).all().__len__() == 1


CSV_GOOD_AND_BAD = (
    "name,idNumber,degree,major,institution,graduationDate,validUntil\n"
    "张三,330106199001011234,学士,计算机,浙江大学,2024-06-30,\n"  # row 2: good
    "李四,330106199001011234,学士,计算机,浙江大学,2024-13-40,\n"  # row 3: bad date
    ",330106199001011234,学士,计算机,浙江大学,2024-06-30,\n"  # row 4: name missing
    "王五,330106199001011234,硕士,数学,浙江大学,2025-01-15,2035-01-01T00:00:00Z\n"  # row 5: good
)


def test_bulk_csv_issues_good_rows_and_reports_bad_rows_by_number(ctx):
    result = issue_file(ctx, EDU, DEGREE, CSV_GOOD_AND_BAD.encode("utf-8"), "csv", idempotency_key="bulk-1")
    assert [r.row for r in result.issued] == [2, 5]
    assert [(e.row, [f.field for f in e.errors]) for e in result.errors] == [
        (3, ["credentialSubject.graduationDate"]),
        (4, ["credentialSubject.name"]),
    ]
    last = get_credential(ctx, EDU, result.issued[1].id)
    assert last["validUntil"] == "2035-01-01T00:00:00Z" and last["credentialSubject"]["degree"] == "硕士"
    # the retry returns the same credentials and the same report
    again = issue_file(ctx, EDU, DEGREE, CSV_GOOD_AND_BAD.encode("utf-8"), "csv", idempotency_key="bulk-1")
    assert again.replayed and again.issued == result.issued and again.errors == result.errors
    with pytest.raises(IdempotencyConflict):
        issue_file(ctx, EDU, DEGREE, CSV_GOOD_AND_BAD.replace("王五", "赵六"), "csv", idempotency_key="bulk-1")


def test_bulk_all_or_nothing_refuses_everything(ctx):
    with pytest.raises(BulkRejected) as err:
        issue_file(ctx, EDU, DEGREE, CSV_GOOD_AND_BAD, "csv", all_or_nothing=True, idempotency_key="bulk-2")
    assert [e.row for e in err.value.errors] == [3, 4]
    with ctx.engine.connect() as conn:
        assert conn.execute(select(CRED.c.id)).all() == []
        assert conn.execute(select(IdempotencyRecord.__table__.c.key)).all() == []  # the key stays unused
    fixed = CSV_GOOD_AND_BAD.replace("2024-13-40", "2024-06-30").replace("\n,33", "\n赵六,33")
    result = issue_file(ctx, EDU, DEGREE, fixed, "csv", all_or_nothing=True, idempotency_key="bulk-2")
    assert len(result.issued) == 4 and not result.errors


def test_bulk_typed_values_from_the_schema(ctx):
    register_type(
        ctx,
        CredentialType(
            "DrivingLicence",
            {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "points": {"type": "integer", "minimum": 0},
                    "organDonor": {"type": "boolean"},
                    "fee": {"type": "number"},
                    "classes": {"type": "array", "items": {"type": "string"}},
                    "address": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
                    },
                },
                "required": ["name", "points"],
                "additionalProperties": False,
            },
        ),
    )
    from ledger.issuance import register_agency

    register_agency(ctx, EDU, "杭州市教育局 Hangzhou Education Bureau", [DEGREE, "DrivingLicence"])
    data = (
        "name,points,organDonor,fee,classes,address.city,address.zip\n"
        'Ann,12,yes,99.5,"[""B"",""C1""]",杭州,310000\n'
        "Bob,twelve,no,,,,\n"
    )
    result = issue_file(ctx, EDU, "DrivingLicence", data, "csv")
    assert [r.row for r in result.issued] == [2]
    assert [(e.row, e.errors[0].field, e.errors[0].reason) for e in result.errors] == [
        (3, "credentialSubject.points", "must be of type integer")
    ]
    subject = get_credential(ctx, EDU, result.issued[0].id)["credentialSubject"]
    assert subject == {
        "name": "Ann",
        "points": 12,
        "organDonor": True,
        "fee": 99.5,
        "classes": ["B", "C1"],
        "address": {"city": "杭州", "zip": "310000"},
    }


def test_bulk_json_lines_and_objects(ctx):
    lines = "\n".join(
        [
            '{"name": "甲", "idNumber": "330106199001011234", "degree": "学士", "major": "法学", "institution": "浙大", '
            '"graduationDate": "2024-06-30"}',
            "",
            "{not json",
            '{"credentialSubject": {"name": "乙", "degree": "学士", "major": "法学", "institution": "浙大", '
            '"graduationDate": "2024-06-30"}, "validFrom": "2024-07-01T00:00:00Z"}',
        ]
    )
    result = issue_file(ctx, EDU, DEGREE, lines, "jsonl")
    assert [r.row for r in result.issued] == [1, 4]
    assert [e.row for e in result.errors] == [3]
    assert get_credential(ctx, EDU, result.issued[1].id)["validFrom"] == "2024-07-01T00:00:00Z"
    rows = rows_from_objects([degree_subject("丙"), {"credentialSubject": "nope"}])
    result = issue_many(ctx, EDU, DEGREE, rows)
    assert [r.row for r in result.issued] == [1] and [e.row for e in result.errors] == [2]


def test_bulk_large_request_signs_in_worker_processes(ctx):
    ctx.signing_workers = 2
    rows = rows_from_objects([degree_subject(f"学生{i}") for i in range(1200)] + [{"name": "only a name"}])
    result = issue_many(ctx, EDU, DEGREE, rows)
    assert len(result.issued) == 1200 and [e.row for e in result.errors] == [1201]
    assert [r.row for r in result.issued] == list(range(1, 1201))
    sample = get_credential(ctx, EDU, result.issued[700].id)
    verify_proof(sample)
    assert sample["credentialSubject"]["name"] == "学生700"
    assert credential_digest_hex(sample) == result.issued[700].digest
    with ctx.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_event WHERE action = 'issue'")).scalar_one() == 1200


def _count(ctx, table: str) -> int:
    with ctx.engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_bulk_written_chunk_by_chunk_is_still_one_transaction(ctx, monkeypatch):
    """Rows go to the database in chunks while signing goes on; a refusal found after several chunks
    (all-or-nothing) or a failure while writing a later chunk leaves nothing behind."""
    import ledger.issuance.issue as issue_module

    monkeypatch.setattr(issue_module, "_INSERT_CHUNK", 100)
    good = [degree_subject(f"学生{i}") for i in range(350)]
    with pytest.raises(BulkRejected) as err:
        issue_many(
            ctx,
            EDU,
            DEGREE,
            rows_from_objects(good + [{"name": "only a name"}]),
            all_or_nothing=True,
            idempotency_key="chunks-1",
        )
    assert [e.row for e in err.value.errors] == [351]
    assert _count(ctx, "credential") == 0 and _count(ctx, "audit_event WHERE action = 'issue'") == 0

    real, calls = issue_module.bulk_insert, []

    def failing_third_chunk(conn, table, rows, chunk=5_000):
        calls.append(table.name)
        if calls.count("credential") == 3:
            raise OSError("disk I/O error (injected)")
        return real(conn, table, rows, chunk)

    monkeypatch.setattr(issue_module, "bulk_insert", failing_third_chunk)
    with pytest.raises(OSError):
        issue_many(ctx, EDU, DEGREE, rows_from_objects(good), idempotency_key="chunks-2")
    assert calls.count("credential") == 3  # two chunks were written before the failure
    assert _count(ctx, "credential") == 0 and _count(ctx, "idempotency_key") == 0

    monkeypatch.setattr(issue_module, "bulk_insert", real)
    result = issue_many(ctx, EDU, DEGREE, rows_from_objects(good), idempotency_key="chunks-2")
    assert len(result.issued) == 350 and _count(ctx, "credential") == 350
    assert _count(ctx, "audit_event WHERE action = 'issue'") == 350
    again = issue_many(ctx, EDU, DEGREE, rows_from_objects(good), idempotency_key="chunks-2")
    assert again.replayed and again.issued == result.issued
