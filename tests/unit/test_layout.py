"""Display layouts (docs/protocol.md §14): the rules a layout must follow, masking, dates, the
generic layout, and a credential laid out by the layout its type signs into it."""

from __future__ import annotations

import copy

import pytest

from ledger.issuance.schema_precheck import FastValidatedType
from ledger.protocol.credential import Issuer, issue_credential
from ledger.protocol.credential_types import BUILTIN_TYPES, DEGREE_LAYOUT, CredentialType
from ledger.protocol.keys import SigningKey
from ledger.protocol.layout import (
    LAYOUT_KEYWORD,
    LAYOUT_SUITE,
    LayoutError,
    check_layout,
    format_date,
    layout_of,
    mask,
    render,
)
from ledger.protocol.proof import verify_proof
from ledger.protocol.status_list import entries_at

SUBJECT = {
    "name": "何敏 (He)",
    "idNumber": "330106196001011960",
    "degree": "工学学士 Bachelor of Engineering",
    "major": "计算机科学与技术",
    "institution": "浙江示范大学",
    "graduationDate": "2024-06-30",
}


def issued(ctype=None, subject=SUBJECT) -> dict:
    key = SigningKey.from_seed(bytes(range(32)))
    status = entries_at(["http://x/status/a/1/revocation", "http://x/status/a/1/suspension"], 1)
    return issue_credential(
        ctype or BUILTIN_TYPES["DegreeCertificate"], subject, Issuer("demo-agency", "示范"), key, status=status
    )


def test_every_builtin_layout_follows_the_rules_and_masks_id_numbers():
    for ctype in BUILTIN_TYPES.values():
        check_layout(ctype.layout)
        fields = {f["path"]: f for s in ctype.layout["sections"] for f in s["fields"]}
        if "idNumber" in ctype.schema["properties"]:
            assert fields["/idNumber"]["sensitive"] is True, ctype.name
        assert ctype.render_method == {
            "type": "TemplateRenderMethod",
            "renderSuite": LAYOUT_SUITE,
            "template": ctype.layout,
        }
        assert FastValidatedType(ctype).accelerated or ctype.name == "GenericCredential"  # annotations cost nothing


def _broken(change) -> dict:
    layout = copy.deepcopy(DEGREE_LAYOUT)
    change(layout)
    return layout


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda t: t.update(onload="alert(1)"), "template.onload: unknown member"),
        (lambda t: t.pop("title"), "template.title: must be an object"),
        (lambda t: t.update(title={"en": "  "}), "template.title.en: must be a non-blank string"),
        (lambda t: t.update(title={"fr": "Diplôme"}), "template.title.fr: unknown member"),
        (lambda t: t.update(title={}), "template.title: needs an en or zh text"),
        (
            lambda t: t.update(statement={"en": "x" * 2001}),
            "template.statement.en: must be a non-blank string of at most 2000",
        ),
        (lambda t: t.update(sections=[]), "template.sections: must be an array of 1 to 10"),
        (lambda t: t["sections"][0].update(html="<b>"), "template.sections[0].html: unknown member"),
        (lambda t: t["sections"][0].update(fields=[]), "template.sections[0].fields: must be a non-empty array"),
        (
            lambda t: t["sections"][1]["fields"][0].update(path="degree"),
            "template.sections[1].fields[0].path: must be a JSON pointer",
        ),
        (lambda t: t["sections"][1]["fields"][0].update(path="/a~2b"), "template.sections[1].fields[0].path"),
        (
            lambda t: t["sections"][1]["fields"][0].update(format="html"),
            "template.sections[1].fields[0].format: must be text or date",
        ),
        (lambda t: t["sections"][1]["fields"][0].update(sensitive="yes"), "template.sections[1].fields[0].sensitive"),
        (
            lambda t: t["sections"][0]["fields"].extend([{"label": {"en": "x"}, "path": "/x"}] * 60),
            "template: at most 60 fields",
        ),
    ],
)
def test_a_layout_breaking_a_rule_is_refused_naming_the_member(change, named):
    with pytest.raises(LayoutError, match=named.replace("[", r"\[").replace("]", r"\]").replace("*", r"\*")):
        check_layout(_broken(change))
    schema = {**BUILTIN_TYPES["DegreeCertificate"].schema, LAYOUT_KEYWORD: _broken(change)}
    with pytest.raises(ValueError, match="template for DegreeCertificate is not a valid layout"):
        CredentialType("DegreeCertificate", schema)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("330106196001011960", "330106********1960"),
        ("33010619600101196X", "330106********196X"),
        ("12345678901", "123456*8901"),
        ("1234567890", "**********"),
        ("", ""),
        ("浙江省杭州市西湖区文三路88号", "浙江省杭州市*****路88号"),
    ],
)
def test_mask_keeps_the_first_six_and_last_four_of_eleven_or_more(text, masked):
    assert mask(text) == masked


def test_dates_in_each_language_and_anything_else_as_written():
    assert format_date("2024-06-30", "zh") == "2024年6月30日"
    assert format_date("2024-06-05", "en") == "5 June 2024"
    assert format_date("2024-02-29", "en") == "29 February 2024"
    for text in ("2023-02-29", "2024-13-01", "2024-6-30", "30/06/2024", "2024-06-30T00:00:00Z"):
        assert format_date(text, "zh") == text


def test_a_credential_carries_its_types_layout_signed_and_is_drawn_by_it():
    credential = issued()
    assert credential["renderMethod"] == [BUILTIN_TYPES["DegreeCertificate"].render_method]
    verify_proof(credential)  # the layout is under the signature
    shown = render(credential, "zh")
    assert shown.source == "credential" and shown.title == "学位证书" and shown.problem is None
    fields = {f.label: f.text for s in shown.sections for f in s.fields}
    assert fields["身份证号"] == "330106********1960" and fields["毕业日期"] == "2024年6月30日"
    assert "证书编号" not in fields  # absent claims are left out
    statement = "".join(text for text, _ in shown.statement)
    assert statement.startswith("兹证明 何敏 (He) 修完 计算机科学与技术 专业")
    revealed = render(credential, "en", reveal=True)
    assert {f.label: f.text for s in revealed.sections for f in s.fields}["ID number"] == SUBJECT["idNumber"]


def test_a_schema_without_a_layout_gives_one_with_its_titles_and_sensitive_fields():
    schema = {
        "type": "object",
        "title": "Fishing licence",
        "properties": {
            "holderName": {"type": "string", "title": "Holder"},
            "passport": {"type": "string", "x-sensitive": True},
            "issuedOn": {"type": "string", "format": "date"},
        },
    }
    ctype = CredentialType("FishingLicence", schema)
    shown = render(issued(ctype, {"holderName": "Li", "passport": "E12345678901", "issuedOn": "2025-01-02"}))
    assert shown.title == "Fishing licence"
    assert [(f.label, f.text) for s in shown.sections for f in s.fields] == [
        ("Holder", "Li"),
        ("Passport", "E12345**8901"),
        ("Issued on", "2 January 2025"),
    ]


def test_without_a_usable_layout_every_claim_is_shown_by_its_key():
    plain = {
        "type": ["VerifiableCredential", "ResidenceCertificate"],
        "credentialSubject": {"idNumber": "1", "homeAddress": "x"},
    }
    found = layout_of(plain)
    assert found.source == "default" and found.problem is None
    shown = render(plain)
    assert shown.title == "Residence certificate"
    assert [(f.label, f.text) for s in shown.sections for f in s.fields] == [("Id number", "1"), ("Home address", "x")]

    foreign = {
        **plain,
        "renderMethod": {"type": "TemplateRenderMethod", "renderSuite": "svg-mustache", "template": "<svg/>"},
    }
    assert layout_of(foreign).source == "default" and layout_of(foreign).problem is None
    wrong = {**plain, "renderMethod": [{"type": "Other", "renderSuite": LAYOUT_SUITE, "template": DEGREE_LAYOUT}]}
    assert layout_of(wrong).problem == "renderMethod.type: must be TemplateRenderMethod"
    broken = {
        **plain,
        "renderMethod": [{"type": "TemplateRenderMethod", "renderSuite": LAYOUT_SUITE, "template": {"title": 1}}],
    }
    assert layout_of(broken).source == "default"
    assert layout_of(broken).problem == "template.title: must be an object of texts by language"


def test_claims_and_layout_texts_come_out_as_the_same_characters():
    payload = '<img src=x onerror="alert(1)"> {{7*7}} </script>'
    layout = copy.deepcopy(DEGREE_LAYOUT)
    layout["title"]["en"] = payload
    credential = issued(
        CredentialType("DegreeCertificate", {**BUILTIN_TYPES["DegreeCertificate"].schema, LAYOUT_KEYWORD: layout}),
        {**SUBJECT, "name": payload},
    )
    shown = render(credential, "en")
    assert shown.title == payload
    assert {f.label: f.text for s in shown.sections for f in s.fields}["Name"] == payload
    assert payload in "".join(text for text, _ in shown.statement)
