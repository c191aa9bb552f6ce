"""Display layouts (docs/protocol.md §14): how a credential is drawn as a document, as data.

A layout is a JSON object — a title and sections of labelled fields, each naming a claim by a JSON
pointer into ``credentialSubject`` — that the issuer signs into the credential as its
``renderMethod`` (a ``TemplateRenderMethod`` of render suite ``certledger-layout-1``). Nothing in
it is code: readers place its texts and the claims as plain text, so neither a claim nor a layout
can run script in a verifier's page. ``verifier/static/render.js`` draws the same layouts by the
same rules in the browser; this module serves the PDF and the command line.

Sensitive fields (``"sensitive": true``, set from the type's schema ``"x-sensitive": true``) are
masked by readers until the person asks to see them. That is display only: the verifier receives
the whole credential; selective disclosure, where it never does, is separate work.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

LAYOUT_SUITE = "certledger-layout-1"
RENDER_METHOD_TYPE = "TemplateRenderMethod"
LAYOUT_KEYWORD = "x-certledger-layout"  # the type's schema annotation holding its registered layout
SENSITIVE_KEYWORD = "x-sensitive"  # a property's schema annotation: mask it on display
LANGS = ("en", "zh")
MAX_TEXT = 500
MAX_STATEMENT = 2000
MAX_SECTIONS = 10
MAX_FIELDS = 60
FORMATS = ("text", "date")
_POINTER = re.compile(r"(/([^~/]|~[01])*)+")
_PLACEHOLDER = re.compile(r"(\{/[^{}]*\})")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_MONTHS = "January February March April May June July August September October November December".split()


class LayoutError(ValueError):
    """A layout that breaks a rule of §14.2; the message names the member at fault."""


def _only(obj: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in obj:
        if key not in allowed:
            raise LayoutError(f"{where}.{key}: unknown member")


def _check_text(value: object, where: str, limit: int) -> None:
    if not isinstance(value, dict):
        raise LayoutError(f"{where}: must be an object of texts by language")
    _only(value, LANGS, where)
    if not any(lang in value for lang in LANGS):
        raise LayoutError(f"{where}: needs an en or zh text")
    for lang in LANGS:
        if lang in value:
            text = value[lang]
            if not isinstance(text, str) or not text.strip() or len(text) > limit:
                raise LayoutError(f"{where}.{lang}: must be a non-blank string of at most {limit} characters")


def check_layout(layout: object) -> dict[str, Any]:
    """``layout`` when it follows §14.2, else :class:`LayoutError` naming the member at fault."""
    if not isinstance(layout, dict):
        raise LayoutError("template: must be an object")
    _only(layout, ("title", "statement", "sections"), "template")
    _check_text(layout.get("title"), "template.title", MAX_TEXT)
    if "statement" in layout:
        _check_text(layout["statement"], "template.statement", MAX_STATEMENT)
    sections = layout.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= MAX_SECTIONS:
        raise LayoutError(f"template.sections: must be an array of 1 to {MAX_SECTIONS} sections")
    count = 0
    for i, section in enumerate(sections):
        where = f"template.sections[{i}]"
        if not isinstance(section, dict):
            raise LayoutError(f"{where}: must be an object")
        _only(section, ("heading", "fields"), where)
        if "heading" in section:
            _check_text(section["heading"], f"{where}.heading", MAX_TEXT)
        fields = section.get("fields")
        if not isinstance(fields, list) or not fields:
            raise LayoutError(f"{where}.fields: must be a non-empty array")
        for j, item in enumerate(fields):
            at = f"{where}.fields[{j}]"
            if not isinstance(item, dict):
                raise LayoutError(f"{at}: must be an object")
            _only(item, ("label", "path", "format", "sensitive"), at)
            _check_text(item.get("label"), f"{at}.label", MAX_TEXT)
            path = item.get("path")
            if not isinstance(path, str) or _POINTER.fullmatch(path) is None or len(path) > MAX_TEXT:
                raise LayoutError(f"{at}.path: must be a JSON pointer such as /name")
            if "format" in item and item["format"] not in FORMATS:
                raise LayoutError(f"{at}.format: must be text or date")
            if "sensitive" in item and not isinstance(item["sensitive"], bool):
                raise LayoutError(f"{at}.sensitive: must be true or false")
            count += 1
    if count > MAX_FIELDS:
        raise LayoutError(f"template: at most {MAX_FIELDS} fields")
    return layout


def humanise(key: str) -> str:
    """``graduationDate`` -> ``Graduation date``: the label of a claim no layout names."""
    spaced = re.sub(r"[_-]+", " ", re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key)).strip().lower()
    return spaced[:1].upper() + spaced[1:] if spaced else key


def escape_pointer(key: str) -> str:
    return "/" + key.replace("~", "~0").replace("/", "~1")


def type_name_of(credential: Mapping[str, Any]) -> str:
    types = credential.get("type")
    return types[1] if isinstance(types, list) and len(types) > 1 and isinstance(types[1], str) else "Credential"


def default_layout(credential: Mapping[str, Any]) -> dict[str, Any]:
    """The generic layout: every claim in the credential's order, labelled from its key."""
    subject = credential.get("credentialSubject")
    keys = list(subject)[:MAX_FIELDS] if isinstance(subject, dict) else []
    fields = [{"label": {"en": humanise(k)}, "path": escape_pointer(k)} for k in keys]
    return {"title": {"en": humanise(type_name_of(credential))}, "sections": [{"fields": fields}] if fields else []}


def layout_from_schema(type_name: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """The layout of a type registered without one: its schema's properties in order, labelled by their
    ``title`` (else the key), dates as dates, sensitive where the schema says so."""
    found = schema.get("properties")
    props: dict[str, Any] = found if isinstance(found, dict) else {}
    fields = []
    for key, prop in list(props.items())[:MAX_FIELDS]:
        prop = prop if isinstance(prop, dict) else {}
        title = prop.get("title")
        item: dict[str, Any] = {
            "label": {"en": title if isinstance(title, str) and title.strip() else humanise(key)},
            "path": escape_pointer(key),
        }
        if prop.get("format") == "date":
            item["format"] = "date"
        fields.append(item)
    title = schema.get("title")
    layout = {
        "title": {"en": title if isinstance(title, str) and title.strip() else humanise(type_name)},
        "sections": [{"fields": fields}] if fields else [{"fields": [{"label": {"en": "Holder"}, "path": "/id"}]}],
    }
    return with_schema_sensitivity(check_layout(layout), schema)


def sensitive_pointers(schema: Mapping[str, Any]) -> set[str]:
    """The claims the schema marks ``"x-sensitive": true`` (top-level properties)."""
    found = schema.get("properties")
    props: dict[str, Any] = found if isinstance(found, dict) else {}
    return {escape_pointer(k) for k, p in props.items() if isinstance(p, dict) and p.get(SENSITIVE_KEYWORD) is True}


def with_schema_sensitivity(layout: dict[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``layout`` whose fields are sensitive where the schema says so (a layout may add more)."""
    marked = sensitive_pointers(schema)
    out: dict[str, Any] = json.loads(json.dumps(layout))
    for section in out["sections"]:
        for item in section["fields"]:
            if item["path"] in marked:
                item["sensitive"] = True
    return out


def render_method(layout: Mapping[str, Any]) -> dict[str, Any]:
    """The ``renderMethod`` member an issuer signs into the credential (§14.1)."""
    return {"type": RENDER_METHOD_TYPE, "renderSuite": LAYOUT_SUITE, "template": dict(layout)}


@dataclass(frozen=True)
class FoundLayout:
    layout: dict[str, Any]
    source: str  # "credential" or "default"
    problem: str | None = None


def layout_of(credential: Mapping[str, Any]) -> FoundLayout:
    """The layout to draw ``credential`` with: its own (§14.3), else the generic one, saying why."""
    methods = credential.get("renderMethod")
    if methods is None:
        methods = []
    elif not isinstance(methods, list):
        methods = [methods]
    ours = next((m for m in methods if isinstance(m, dict) and m.get("renderSuite") == LAYOUT_SUITE), None)
    if ours is None:
        return FoundLayout(default_layout(credential), "default")
    try:
        if ours.get("type") != RENDER_METHOD_TYPE:
            raise LayoutError(f"renderMethod.type: must be {RENDER_METHOD_TYPE}")
        return FoundLayout(check_layout(ours.get("template")), "credential")
    except LayoutError as exc:
        return FoundLayout(default_layout(credential), "default", str(exc))


# ---------------------------------------------------------------- values


def resolve(subject: object, pointer: str) -> Any:
    """The value at ``pointer`` (RFC 6901) in ``subject``, or None when there is none."""
    here = subject
    for raw in pointer.split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(here, list) and re.fullmatch(r"0|[1-9][0-9]*", part):
            index = int(part)
            here = here[index] if index < len(here) else None
        elif isinstance(here, dict) and part in here:
            here = here[part]
        else:
            return None
    return here


def mask(text: str) -> str:
    """``330106196001011960`` -> ``330106********1960``: the first 6 and last 4 characters of 11 or more."""
    if len(text) >= 11:
        return text[:6] + "*" * (len(text) - 10) + text[-4:]
    return "*" * len(text)


def format_date(text: str, lang: str) -> str:
    """``2024-06-30`` as ``2024年6月30日`` or ``30 June 2024``; anything else as written."""
    m = _DATE.fullmatch(text)
    if m is None:
        return text
    try:
        day = date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return text
    return f"{day.year}年{day.month}月{day.day}日" if lang == "zh" else f"{day.day} {_MONTHS[day.month - 1]} {m[1]}"


def display_value(value: object, fmt: str | None, lang: str) -> str | None:
    """The claim's text as a layout shows it (before masking); None when absent. Non-strings as JSON."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return format_date(text, lang) if fmt == "date" else text


def pick(text: Mapping[str, str] | None, lang: str) -> str:
    if not text:
        return ""
    return text.get(lang) or text.get("en" if lang == "zh" else "zh") or ""


# ---------------------------------------------------------------- the drawn certificate


@dataclass(frozen=True)
class Field:
    label: str
    text: str  # masked unless revealed
    sensitive: bool
    path: str


@dataclass(frozen=True)
class Section:
    heading: str
    fields: list[Field]


@dataclass(frozen=True)
class Rendered:
    """A credential laid out in one language: what the PDF and the command line print."""

    title: str
    statement: list[tuple[str, bool]]  # (text, is a claim) parts: claims may be set apart
    sections: list[Section]
    source: str
    problem: str | None
    type_name: str
    sensitive: set[str] = field(default_factory=set)


def render(credential: Mapping[str, Any], lang: str = "en", *, reveal: bool = False) -> Rendered:
    """``credential`` laid out by its layout (or the generic one) in ``lang`` (``en`` or ``zh``)."""
    lang = "zh" if lang.lower().startswith("zh") else "en"
    found = layout_of(credential)
    subject = credential.get("credentialSubject")
    subject = subject if isinstance(subject, dict) else {}
    sensitive: set[str] = set()
    formats: dict[str, str] = {}
    for section in found.layout["sections"]:
        for item in section["fields"]:
            if item.get("sensitive"):
                sensitive.add(item["path"])
            formats.setdefault(item["path"], item.get("format", "text"))

    def shown(pointer: str, fmt: str | None) -> str | None:
        text = display_value(resolve(subject, pointer), fmt, lang)
        return mask(text) if text is not None and pointer in sensitive and not reveal else text

    statement: list[tuple[str, bool]] = []
    if "statement" in found.layout:
        for part in _PLACEHOLDER.split(pick(found.layout["statement"], lang)):
            pointer = part[1:-1] if _PLACEHOLDER.fullmatch(part) else None
            if pointer is not None and _POINTER.fullmatch(pointer):
                statement.append((shown(pointer, formats.get(pointer)) or "—", True))
            elif part:
                statement.append((part, False))
    sections = []
    for section in found.layout["sections"]:
        fields = []
        for item in section["fields"]:
            text = shown(item["path"], item.get("format"))
            if text is not None:
                fields.append(Field(pick(item["label"], lang), text, bool(item.get("sensitive")), item["path"]))
        if fields:
            sections.append(Section(pick(section.get("heading"), lang), fields))
    return Rendered(
        pick(found.layout["title"], lang),
        statement,
        sections,
        found.source,
        found.problem,
        type_name_of(credential),
        sensitive,
    )


__all__ = [
    "LAYOUT_KEYWORD",
    "LAYOUT_SUITE",
    "SENSITIVE_KEYWORD",
    "FoundLayout",
    "LayoutError",
    "Rendered",
    "check_layout",
    "default_layout",
    "display_value",
    "format_date",
    "layout_from_schema",
    "layout_of",
    "mask",
    "render",
    "render_method",
    "resolve",
    "with_schema_sensitivity",
]
