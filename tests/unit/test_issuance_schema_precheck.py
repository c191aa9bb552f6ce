"""The fast subject test never calls valid what jsonschema refuses (differential, with hypothesis),
and does say valid for ordinary valid subjects (so bulk issuance actually uses it)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.issuance.schema_precheck import FastValidatedType, compile_fast_check
from ledger.protocol.credential_types import BUILTIN_TYPES, CredentialType

EXTRA = CredentialType(
    "Mixed",
    {
        "type": "object",
        "properties": {
            "id": {"type": "string", "pattern": "^(did|urn):"},
            "n": {"type": "integer", "minimum": 0, "exclusiveMaximum": 100},
            "x": {"type": ["number", "null"], "maximum": 1.5},
            "flag": {"type": "boolean"},
            "level": {"enum": ["a", "b"]},
            "fixed": {"const": "k"},
            "when": {"type": "string", "format": "date-time"},
            "on": {"type": "string", "format": "date"},
            "short": {"type": "string", "minLength": 2, "maxLength": 4},
            "addr": {
                "type": "object",
                "properties": {"city": {"type": "string", "minLength": 1}},
                "required": ["city"],
                "additionalProperties": False,
            },
            "free": {},
        },
        "required": ["n"],
        "additionalProperties": False,
    },
)
TYPES = list(BUILTIN_TYPES.values()) + [EXTRA]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 200),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=6),
    st.sampled_from(
        [
            "a",
            "b",
            "k",
            "approved",
            "rejected",
            "did:x",
            "urn:y",
            "2024-06-30",
            "2024-02-30",
            "2024-06-30T00:00:00Z",
            "2024-06-30T00:00:00",
            "330106199001011234",
            "33010619900101123X",
            "3301061990010112",
            "",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["city", "zip", "x"]), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def subjects(draw, ctype):
    names = list(ctype.schema["properties"]) + ["extra", "other"]
    keys = draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names)))
    return {k: draw(values) for k in keys}


@pytest.mark.parametrize("ctype", TYPES, ids=lambda t: t.name)
def test_every_type_here_gets_a_fast_test(ctype):
    assert FastValidatedType(ctype).accelerated


@pytest.mark.slow  # an exhaustive property run: make test, not make check
@pytest.mark.parametrize("ctype", TYPES, ids=lambda t: t.name)
@settings(max_examples=600, deadline=None)
@given(data=st.data())
def test_fast_valid_implies_jsonschema_valid(ctype, data):
    fast = FastValidatedType(ctype)
    subject = data.draw(subjects(ctype))
    if fast._fast(subject):
        assert ctype.subject_errors(subject) == [], subject
    # and through the wrapper the answer is always jsonschema's
    assert fast.subject_errors(subject) == ctype.subject_errors(subject)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.digits + "X-", max_size=20), st.text(max_size=30))
def test_valid_subjects_take_the_fast_path(id_number, name):
    ctype = BUILTIN_TYPES["NoCriminalRecordCertificate"]
    fast = FastValidatedType(ctype)
    subject = {"name": name, "idNumber": id_number}
    assert fast._fast(subject) == (ctype.subject_errors(subject) == [])  # here the two agree exactly


def test_ordinary_subjects_are_fast_valid():
    fast = FastValidatedType(BUILTIN_TYPES["DegreeCertificate"])
    assert fast._fast(
        {
            "name": "张三",
            "idNumber": "330106199001011234",
            "degree": "学士",
            "major": "法学",
            "institution": "浙江大学",
            "graduationDate": "2024-06-30",
        }
    )


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"$ref": "#/$defs/x"}}, "$defs": {"x": {}}},
        {"type": "object", "patternProperties": {"^a": {}}},
        {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "string"}}}},
        {"type": "object", "additionalProperties": {"type": "string"}},
        {"type": "object", "allOf": [{}]},
        {"type": "object", "properties": {"e": {"enum": [1, 2]}}},
        {"type": "object", "properties": {"p": {"pattern": "("}}},
    ],
)
def test_schemas_with_other_keywords_get_no_fast_test(schema):
    assert compile_fast_check(schema) is None


def test_non_dict_mappings_and_str_subclasses_are_left_to_jsonschema():
    from collections import OrderedDict

    class S(str):
        pass

    check = compile_fast_check({"type": "object", "properties": {"a": {"type": "string", "minLength": 3}}})
    assert check({"a": "abc"})
    assert not check({"a": S("abc")})  # not certainly a plain string
    assert not check(OrderedDict(a="abc"))  # a dict subclass: jsonschema decides
    assert not check({"a": "ab"})
