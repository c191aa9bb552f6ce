"""Bulk input parsing: CSV typed by the schema, JSON Lines, row numbers, unreadable rows."""

from __future__ import annotations

import pytest

from ledger.issuance.rows import parse_rows, rows_from_csv, rows_from_jsonl, rows_from_objects
from ledger.protocol.credential_types import BUILTIN_TYPES, CredentialType
from ledger.protocol.errors import ValidationError

TYPED = CredentialType(
    "Typed",
    {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "score": {"type": "number"},
            "active": {"type": "boolean"},
            "tags": {"type": "array"},
            "meta": {"type": "object"},
            "maybe": {"type": ["integer", "null"]},
            "code": {"type": "string"},
            "level": {"enum": [1, 2, 3]},
            "address": {"type": "object", "properties": {"city": {"type": "string"}, "floor": {"type": "integer"}}},
        },
    },
)


def test_csv_cells_become_the_schema_types():
    (row,) = rows_from_csv(
        "name,age,score,active,tags,meta,maybe,code,level,address.city,address.floor\n"
        'Ann,42,3.5,TRUE,"[1,2]","{""k"": 1}",null,007,2,杭州,3\n',
        TYPED,
    )
    assert row.number == 2 and not row.problems
    assert row.subject == {
        "name": "Ann",
        "age": 42,
        "score": 3.5,
        "active": True,
        "tags": [1, 2],
        "meta": {"k": 1},
        "maybe": None,
        "code": "007",
        "level": 2,
        "address": {"city": "杭州", "floor": 3},
    }


@pytest.mark.parametrize(
    "cell,expected",
    [("1", True), ("yes", True), ("Y", True), ("false", False), ("0", False), ("no", False), ("maybe", "maybe")],
)
def test_csv_booleans(cell, expected):
    (row,) = rows_from_csv(f"active\n{cell}\n", TYPED)
    assert row.subject == {"active": expected}


def test_csv_values_that_do_not_convert_stay_text_for_the_schema_to_name():
    (row,) = rows_from_csv("age,score,maybe\ntwelve,NaN,x\n", TYPED)
    assert row.subject == {"age": "twelve", "score": "NaN", "maybe": "x"}
    errors = TYPED.subject_errors(row.subject)
    assert {e.field for e in errors} == {"credentialSubject.age", "credentialSubject.score", "credentialSubject.maybe"}


def test_csv_empty_cells_are_left_out_and_dates_are_not_subject_fields():
    rows = rows_from_csv(
        "\ufeffname,age,validFrom,validUntil\nAnn,,2024-01-01T00:00:00Z,\n\n,,,\nBob,3,,2030-01-01T00:00:00Z\n", TYPED
    )
    assert [(r.number, r.subject, r.valid_from, r.valid_until) for r in rows] == [
        (2, {"name": "Ann"}, "2024-01-01T00:00:00Z", None),
        (5, {"name": "Bob", "age": 3}, None, "2030-01-01T00:00:00Z"),
    ]


def test_csv_row_with_too_many_cells_is_reported():
    (row,) = rows_from_csv("name\nAnn,extra\n", TYPED)
    assert row.problems and row.problems[0].field == "(row)"


@pytest.mark.parametrize(
    "header,field", [(",age", "(header) column 1"), ("name,name", "(header) column 2"), ("", "(header)")]
)
def test_unusable_headers_refuse_the_file(header, field):
    with pytest.raises(ValidationError) as err:
        rows_from_csv(header + ("\n" if header else ""), TYPED)
    assert err.value.errors[0].field == field


def test_non_utf8_csv_is_refused():
    with pytest.raises(ValidationError):
        rows_from_csv("name\n\xff\n".encode("latin-1"), TYPED)


def test_builtin_id_numbers_stay_strings():
    (row,) = rows_from_csv("name,idNumber\n张三,330106199001011234\n", BUILTIN_TYPES["ResidenceCertificate"])
    assert row.subject["idNumber"] == "330106199001011234"


def test_json_lines_both_forms_and_bad_lines():
    text = "\n".join(
        [
            '{"name": "Ann", "validFrom": "2024-01-01T00:00:00Z"}',
            "",
            "[1, 2]",
            "{oops",
            '{"credentialSubject": {"name": "Bob"}, "validUntil": "2030-01-01T00:00:00Z", "extra": 1}',
            '{"name": "Cy", "validUntil": 5}',
        ]
    )
    rows = rows_from_jsonl(text.encode("utf-8"))
    assert [r.number for r in rows] == [1, 3, 4, 5, 6]
    assert rows[0].subject == {"name": "Ann"} and rows[0].valid_from == "2024-01-01T00:00:00Z"
    assert rows[1].problems[0].reason == "must be a JSON object"
    assert "not valid JSON" in rows[2].problems[0].reason
    assert rows[3].subject == {"name": "Bob"} and rows[3].valid_until == "2030-01-01T00:00:00Z"
    assert rows[3].problems[0].field == "extra"
    assert rows[4].problems[0].field == "validUntil"


def test_objects_are_numbered_from_one_and_parse_rows_dispatches():
    rows = rows_from_objects([{"name": "a"}, {"name": "b"}])
    assert [r.number for r in rows] == [1, 2]
    assert parse_rows("name\nx\n", "CSV", TYPED)[0].subject == {"name": "x"}
    assert parse_rows('{"name": "x"}', "ndjson", TYPED)[0].subject == {"name": "x"}
    with pytest.raises(ValueError):
        parse_rows("", "xml", TYPED)


def test_request_form_is_stable():
    a = rows_from_csv("name,age\nAnn,1\n", TYPED)[0].request_form()
    b = rows_from_jsonl('{"name": "Ann", "age": 1}')[0].request_form()
    assert a["subject"] == b["subject"]
