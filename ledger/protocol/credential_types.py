"""Credential types: a name and a JSON Schema (Draft 2020-12) for ``credentialSubject``.

An agency may only issue the types governance permits it (``typeId =
keccak256(name)`` on chain); the schema is checked *before* signing, so a
signed credential never carries claims its type does not allow. Validation
reports every problem as ``{field, reason}`` with a dotted path such as
``credentialSubject.graduationDate``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from ledger.protocol.datetimes import DateTimeFormatError, parse_xsd_datetime
from ledger.protocol.errors import FieldError, ValidationError
from ledger.protocol.identifiers import check_type_name, type_id
from ledger.protocol.layout import (
    LAYOUT_KEYWORD,
    LayoutError,
    check_layout,
    layout_from_schema,
    render_method,
    with_schema_sensitivity,
)

SUBJECT_FIELD = "credentialSubject"

_FORMAT_CHECKER = FormatChecker()
for _name, _fn in Draft202012Validator.FORMAT_CHECKER.checkers.items():
    _FORMAT_CHECKER.checkers[_name] = _fn


@_FORMAT_CHECKER.checks("date-time", raises=DateTimeFormatError)  # type: ignore[untyped-decorator]  # jsonschema is untyped
def _is_date_time(instance: object) -> bool:
    """RFC 3339 / XML Schema dateTimeStamp (timezone required)."""
    if isinstance(instance, str):
        parse_xsd_datetime(instance)
    return True


def _join(prefix: str, part: Any) -> str:
    if isinstance(part, int):
        return f"{prefix}[{part}]"
    return f"{prefix}.{part}" if prefix else str(part)


def _path(prefix: str, parts: Iterable[Any]) -> str:
    out = prefix
    for p in parts:
        out = _join(out, p)
    return out


def _describe(error: Any) -> list[FieldError]:  # a jsonschema ValidationError (untyped)
    """Turn one jsonschema error into field errors naming the offending field."""
    base = error.instance
    kind = error.validator
    here = _path(SUBJECT_FIELD, error.absolute_path)
    if kind == "required" and isinstance(base, Mapping):
        return [FieldError(_join(here, name), "is required") for name in error.validator_value if name not in base]
    if kind == "additionalProperties" and isinstance(base, Mapping):
        schema = error.schema
        known = set(schema.get("properties", {}))
        patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
        extra = [k for k in base if k not in known and not any(p.search(k) for p in patterns)]
        return [FieldError(_join(here, k), "is not a field of this credential type") for k in extra] or [
            FieldError(here, error.message)
        ]
    if kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return [FieldError(here, f"must be of type {expected}")]
    if kind == "enum":
        choices = ", ".join(json.dumps(v, ensure_ascii=False) for v in error.validator_value)
        return [FieldError(here, f"must be one of {choices}")]
    if kind == "format":
        return [FieldError(here, f"is not a valid {error.validator_value}")]
    if kind == "pattern":
        return [FieldError(here, f"does not match the required pattern {error.validator_value}")]
    bounds = {
        "minLength": "must have at least {} characters",
        "maxLength": "must have at most {} characters",
        "minimum": "must be at least {}",
        "maximum": "must be at most {}",
        "exclusiveMinimum": "must be greater than {}",
        "exclusiveMaximum": "must be less than {}",
        "minItems": "must have at least {} items",
        "maxItems": "must have at most {} items",
    }
    if kind in bounds:
        return [FieldError(here, bounds[kind].format(error.validator_value))]
    return [FieldError(here, error.message)]


class CredentialType:
    """A credential type: ``name`` (VC type term) and a Draft 2020-12 ``schema``
    for ``credentialSubject`` (top-level ``"type": "object"`` required).

    Its display layout (docs/protocol.md §14) is the schema's root annotation ``x-certledger-layout``
    when registered with one, else made from the schema; properties annotated ``"x-sensitive": true``
    are sensitive in it. ``render_method`` is what each credential of the type carries."""

    __slots__ = ("name", "schema", "description", "layout", "render_method", "_validator")

    def __init__(self, name: str, schema: Mapping[str, Any], description: str | None = None) -> None:
        check_type_name(name)
        if not isinstance(schema, Mapping):
            raise ValueError("a credential type schema must be a JSON object")
        schema = json.loads(json.dumps(schema))  # own a plain-JSON copy
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            path = "/".join(str(p) for p in exc.path) or "(root)"
            raise ValueError(f"schema for {name} is not valid JSON Schema 2020-12 at {path}: {exc.message}") from None
        if schema.get("type") != "object":
            raise ValueError(f'schema for {name} must describe an object ("type": "object")')
        if LAYOUT_KEYWORD in schema:
            try:
                layout = with_schema_sensitivity(check_layout(schema[LAYOUT_KEYWORD]), schema)
            except LayoutError as exc:
                raise ValueError(f"template for {name} is not a valid layout: {exc}") from None
        else:
            layout = layout_from_schema(name, schema)
        self.layout = layout
        self.render_method = render_method(layout)
        self.name = name
        self.schema = schema
        self.description = description
        self._validator = Draft202012Validator(schema, format_checker=_FORMAT_CHECKER)

    @property
    def type_id(self) -> bytes:
        return type_id(self.name)

    def subject_errors(self, subject: object) -> list[FieldError]:
        """Every problem with ``subject`` (empty when valid)."""
        errors: list[FieldError] = []
        for err in self._validator.iter_errors(subject):
            errors.extend(_describe(err))
        return sorted(set(errors))

    def validate_subject(self, subject: object) -> None:
        """Raise :class:`ValidationError` listing every problem with ``subject``."""
        errors = self.subject_errors(subject)
        if errors:
            raise ValidationError(errors, f"credentialSubject does not match {self.name}")

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "schema": self.schema}
        if self.description:
            out["description"] = self.description
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CredentialType:
        return cls(data["name"], data["schema"], data.get("description"))

    @classmethod
    def from_schema_file(cls, name: str, path: str | Path, description: str | None = None) -> CredentialType:
        """For ``certledger type add NAME --schema schema.json``."""
        try:
            schema = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValueError(f"cannot read schema file {path}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise ValueError(f"schema file {path} is not valid JSON: {exc}") from None
        return cls(name, schema, description)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CredentialType) and (other.name, other.schema) == (self.name, self.schema)

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"CredentialType({self.name!r})"


# ---------------------------------------------------------------- built-ins

_ID_NUMBER = {
    "type": "string",
    "pattern": "^[0-9]{17}[0-9X]$",
    "description": "PRC resident identity card number (18 characters)",
    "x-sensitive": True,
}
_NAME = {"type": "string", "minLength": 1, "maxLength": 200}
_SUBJECT_ID = {"type": "string", "pattern": "^(did|urn):", "description": "optional DID or URN of the holder"}


def _schema(
    title: str, properties: dict[str, Any], required: list[str], layout: dict[str, Any] | None = None
) -> dict[str, Any]:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "properties": {"id": _SUBJECT_ID, **properties},
        "required": required,
        "additionalProperties": False,
    }
    if layout is not None:
        schema[LAYOUT_KEYWORD] = layout
    return schema


def _t(en: str, zh: str) -> dict[str, str]:
    return {"en": en, "zh": zh}


def _f(en: str, zh: str, path: str, fmt: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"label": _t(en, zh), "path": path}
    if fmt:
        item["format"] = fmt
    return item


_HOLDER = {
    "heading": _t("Holder", "持证人"),
    "fields": [_f("Name", "姓名", "/name"), _f("ID number", "身份证号", "/idNumber")],
}

DEGREE_LAYOUT = {
    "title": _t("Degree Certificate", "学位证书"),
    "statement": _t(
        "This is to certify that {/name} has completed the programme in {/major} and is awarded the degree of"
        " {/degree}.",
        "兹证明 {/name} 修完 {/major} 专业规定的全部课程，成绩合格，授予 {/degree} 学位。",
    ),
    "sections": [
        _HOLDER,
        {
            "heading": _t("Award", "学位信息"),
            "fields": [
                _f("Degree", "学位", "/degree"),
                _f("Major", "专业", "/major"),
                _f("Institution", "授予单位", "/institution"),
                _f("Graduation date", "毕业日期", "/graduationDate", "date"),
                _f("Certificate number", "证书编号", "/certificateNumber"),
            ],
        },
    ],
}

RESIDENCE_LAYOUT = {
    "title": _t("Certificate of Residence", "居住证明"),
    "statement": _t(
        "This is to certify that {/name} is registered as resident at {/address} since {/residentSince}.",
        "兹证明 {/name} 自 {/residentSince} 起登记居住于 {/address}。",
    ),
    "sections": [
        _HOLDER,
        {
            "heading": _t("Residence", "居住信息"),
            "fields": [
                _f("Registered address", "户籍地址", "/address"),
                _f("Resident since", "居住起始日期", "/residentSince", "date"),
            ],
        },
    ],
}


BUILTIN_TYPES: dict[str, CredentialType] = {
    t.name: t
    for t in (
        CredentialType(
            "DegreeCertificate",
            _schema(
                "Degree certificate",
                {
                    "name": _NAME,
                    "idNumber": _ID_NUMBER,
                    "degree": {"type": "string", "minLength": 1, "maxLength": 200},
                    "major": {"type": "string", "minLength": 1, "maxLength": 200},
                    "institution": {"type": "string", "minLength": 1, "maxLength": 200},
                    "graduationDate": {"type": "string", "format": "date"},
                    "certificateNumber": {"type": "string", "minLength": 1, "maxLength": 64},
                },
                ["name", "degree", "major", "institution", "graduationDate"],
                DEGREE_LAYOUT,
            ),
            "A university degree awarded to the holder.",
        ),
        CredentialType(
            "ResidenceCertificate",
            _schema(
                "Residence certificate",
                {
                    "name": _NAME,
                    "idNumber": _ID_NUMBER,
                    "address": {"type": "string", "minLength": 1, "maxLength": 500},
                    "residentSince": {"type": "string", "format": "date"},
                },
                ["name", "idNumber", "address"],
                RESIDENCE_LAYOUT,
            ),
            "The holder's registered residence.",
        ),
        CredentialType(
            "NoCriminalRecordCertificate",
            _schema(
                "No criminal record certificate",
                {
                    "name": _NAME,
                    "idNumber": _ID_NUMBER,
                    "purpose": {"type": "string", "maxLength": 500},
                },
                ["name", "idNumber"],
            ),
            "States that the holder has no criminal record.",
        ),
        CredentialType(
            "ApprovalDecision",
            _schema(
                "Administrative approval decision",
                {
                    "applicant": _NAME,
                    "idNumber": _ID_NUMBER,
                    "matter": {"type": "string", "minLength": 1, "maxLength": 500},
                    "decision": {"enum": ["approved", "rejected"]},
                    "decisionNumber": {"type": "string", "minLength": 1, "maxLength": 64},
                    "decidedOn": {"type": "string", "format": "date"},
                },
                ["applicant", "matter", "decision", "decisionNumber"],
            ),
            "An agency's decision on an application.",
        ),
        CredentialType(
            "GenericCredential",
            {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": "Generic credential",
                "type": "object",
                "properties": {"id": {"type": "string", "minLength": 1}},
                "minProperties": 1,
            },
            "A W3C credential issued through the VC API (POST /credentials/issue) whose types are not "
            "CertLedger credential types (docs/protocol.md §3.8): its claims are the agency's, checked "
            "against the VC 2.0 data model, not against a schema. Governance permits it per agency.",
        ),
    )
}


__all__ = ["BUILTIN_TYPES", "CredentialType", "SUBJECT_FIELD"]
