"""Bulk input: rows from CSV or JSON Lines (or Python objects), typed by the credential type's schema.

**CSV.** UTF-8 (a byte-order mark is ignored), comma-separated, first line a header naming the
``credentialSubject`` fields; a dotted name (``address.city``) builds a nested object. Two optional
columns are not subject fields: ``validFrom`` and ``validUntil``. An empty cell leaves its field
out. Cells become the JSON type the schema asks for: ``integer`` and ``number`` from decimal text,
``boolean`` from ``true/false`` (also ``1/0``, ``yes/no``), ``array``/``object`` from JSON text,
``null`` from ``null``; text that does not convert stays a string, so the schema check names the
field ("must be of type integer").

**JSON Lines.** One JSON object per line: either the subject itself (optionally with ``validFrom`` /
``validUntil`` members, taken out of it) or ``{"credentialSubject": {...}, "validFrom": ...,
"validUntil": ...}``. Blank lines are skipped. Values are used as they are (JSON is typed).

**Row numbers** are what a person sees in an editor: in a CSV file the header is row 1, so the first
credential is row 2; in JSON Lines the row number is the line number; for Python objects (an API's
JSON array) rows count from 1.

A row that cannot be read (bad JSON, more cells than the header) is returned with its problems and
reported like a row that fails its schema.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ledger.protocol.credential_types import SUBJECT_FIELD, CredentialType
from ledger.protocol.errors import FieldError, ValidationError
from ledger.protocol.json_depth import MAX_DEPTH, too_deep

VALID_FROM, VALID_UNTIL = "validFrom", "validUntil"
_DATE_COLUMNS = (VALID_FROM, VALID_UNTIL)
_TRUE, _FALSE = {"true", "1", "yes", "y"}, {"false", "0", "no", "n"}


@dataclass(frozen=True)
class Row:
    number: int
    subject: dict
    valid_from: str | None = None
    valid_until: str | None = None
    problems: tuple[FieldError, ...] = field(default=())

    def request_form(self) -> dict:
        """The row as it enters the idempotency fingerprint."""
        return {
            "row": self.number,
            "subject": self.subject,
            "validFrom": self.valid_from,
            "validUntil": self.valid_until,
            "problems": [e.to_dict() for e in self.problems],
        }


# ------------------------------------------------------------------ typing


def _property_schema(schema: Mapping, path: list[str]) -> Mapping | None:
    node = schema
    for part in path:
        props = node.get("properties") if isinstance(node, Mapping) else None
        if not isinstance(props, Mapping) or part not in props:
            return None
        node = props[part]
    return node if isinstance(node, Mapping) else None


def _types_of(prop: Mapping | None) -> list[str]:
    if prop is None:
        return []
    t = prop.get("type")
    if isinstance(t, str):
        return [t]
    if isinstance(t, list):
        return [x for x in t if isinstance(x, str)]
    if "enum" in prop:  # an enum of non-strings: guess from its values
        kinds = {type(v).__name__ for v in prop["enum"]}
        return [
            "integer" if k == "int" else "number" if k == "float" else "boolean" if k == "bool" else "string"
            for k in kinds
        ]
    return []


def _convert(text: str, kind: str):
    """The value of `text` as JSON type `kind`, or raise ValueError."""
    if kind == "string":
        return text
    if kind == "integer":
        value = int(text.strip(), 10)
        return value
    if kind == "number":
        s = text.strip()
        try:
            return int(s, 10)
        except ValueError:
            number = float(s)
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError("not a finite number") from None
            return number
    if kind == "boolean":
        s = text.strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        raise ValueError("not a boolean")
    if kind == "null":
        if text.strip().lower() == "null":
            return None
        raise ValueError("not null")
    if kind in ("array", "object"):
        if too_deep(text):  # before the C decoder recurses (see ledger.protocol.json_depth)
            raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
        value = json.loads(text)
        if (kind == "array") != isinstance(value, list) or (kind == "object" and not isinstance(value, dict)):
            raise ValueError(f"not a JSON {kind}")
        return value
    raise ValueError(kind)


def _converter(kinds: list[str]):
    order = [k for k in kinds if k != "string"] + (["string"] if "string" in kinds or not kinds else [])

    def convert(text: str):
        for kind in order:
            try:
                return _convert(text, kind)
            except ValueError:
                continue
        return text  # leave it to the schema check, which names the field

    return convert


# ------------------------------------------------------------------ CSV


def _text(data: str | bytes) -> str:
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError([FieldError("(file)", f"is not UTF-8 text (byte {exc.start})")]) from None
    return data.removeprefix("\ufeff")


def rows_from_csv(data: str | bytes, ctype: CredentialType) -> list[Row]:
    """Rows of a CSV file (see the module documentation). A bad header raises ValidationError."""
    reader = csv.reader(io.StringIO(_text(data), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationError(
            [FieldError("(header)", "the file is empty; the first line must name the fields")]
        ) from None
    except csv.Error as exc:
        raise ValidationError([FieldError("(header)", f"is not valid CSV: {exc}")]) from None
    header = [h.strip() for h in header]
    problems = []
    seen = set()
    for i, name in enumerate(header, 1):
        if not name:
            problems.append(FieldError(f"(header) column {i}", "has no name"))
        elif name in seen:
            problems.append(FieldError(f"(header) column {i}", f"repeats the field name {name!r}"))
        seen.add(name)
    if problems:
        raise ValidationError(problems, "the CSV header is not usable")

    # (index, name, path or None for dates, converter)
    columns: list[tuple[int, str, list[str] | None, Callable[[str], object] | None]] = []
    for i, name in enumerate(header):
        if name in _DATE_COLUMNS:
            columns.append((i, name, None, None))
        else:
            path = name.split(".")
            columns.append((i, name, path, _converter(_types_of(_property_schema(ctype.schema, path)))))
    width = len(header)

    rows = []
    number = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            number += 1
            rows.append(Row(number, {}, problems=(FieldError("(row)", f"is not valid CSV: {exc}"),)))
            continue
        number += 1
        if not cells or all(not c.strip() for c in cells):
            continue  # blank line
        row_problems = []
        if len(cells) > width:
            row_problems.append(FieldError("(row)", f"has {len(cells)} cells but the header names {width} fields"))
        subject: dict = {}
        dates: dict[str, str] = {}
        for i, name, key_path, convert in columns:
            if i >= len(cells):
                continue
            cell = cells[i]
            if cell == "":
                continue
            if key_path is None:
                dates[name] = cell.strip()
                continue
            target = subject
            for part in key_path[:-1]:
                nxt = target.setdefault(part, {})
                if not isinstance(nxt, dict):
                    row_problems.append(FieldError(f"{SUBJECT_FIELD}.{name}", "conflicts with another column"))
                    break
                target = nxt
            else:
                target[key_path[-1]] = convert(cell)  # type: ignore[misc]  # a column with a path has a converter
        rows.append(Row(number, subject, dates.get(VALID_FROM), dates.get(VALID_UNTIL), tuple(row_problems)))
    return rows


# ------------------------------------------------------------------ JSON Lines and objects


def _row_from_object(number: int, obj: object) -> Row:
    if not isinstance(obj, Mapping):
        return Row(number, {}, problems=(FieldError("(row)", "must be a JSON object"),))
    obj = dict(obj)
    if SUBJECT_FIELD in obj:
        extra = set(obj) - {SUBJECT_FIELD, VALID_FROM, VALID_UNTIL}
        problems = tuple(FieldError(k, "is not allowed beside credentialSubject") for k in sorted(extra))
        subject = obj[SUBJECT_FIELD]
        if not isinstance(subject, Mapping):
            return Row(number, {}, problems=(FieldError(SUBJECT_FIELD, "must be a JSON object"),))
        subject = dict(subject)
    else:
        problems = ()
        subject = obj
    valid_from = obj.get(VALID_FROM) if SUBJECT_FIELD in obj else subject.pop(VALID_FROM, None)
    valid_until = obj.get(VALID_UNTIL) if SUBJECT_FIELD in obj else subject.pop(VALID_UNTIL, None)
    for name, value in ((VALID_FROM, valid_from), (VALID_UNTIL, valid_until)):
        if value is not None and not isinstance(value, str):
            problems += (FieldError(name, "must be a dateTime string"),)
    return Row(
        number,
        subject,
        valid_from if isinstance(valid_from, str) else None,
        valid_until if isinstance(valid_until, str) else None,
        problems,
    )


def rows_from_jsonl(data: str | bytes) -> list[Row]:
    rows = []
    for number, line in enumerate(_text(data).splitlines(), 1):
        if not line.strip():
            continue
        if too_deep(line):  # before the C decoder recurses (see ledger.protocol.json_depth)
            rows.append(
                Row(number, {}, problems=(FieldError("(row)", f"is nested more than {MAX_DEPTH} levels deep"),))
            )
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            rows.append(Row(number, {}, problems=(FieldError("(row)", f"is not valid JSON: {exc}"),)))
            continue
        rows.append(_row_from_object(number, obj))
    return rows


def rows_from_objects(objects: Iterable[object]) -> list[Row]:
    """Rows from already-decoded JSON objects (an API request body), numbered from 1."""
    return [_row_from_object(number, obj) for number, obj in enumerate(objects, 1)]


def parse_rows(data: str | bytes, fmt: str, ctype: CredentialType) -> list[Row]:
    """``fmt``: ``csv`` or ``jsonl`` (also ``ndjson``)."""
    fmt = fmt.lower()
    if fmt == "csv":
        return rows_from_csv(data, ctype)
    if fmt in ("jsonl", "ndjson", "json-lines"):
        return rows_from_jsonl(data)
    raise ValueError(f"unknown row format {fmt!r}: use csv or jsonl")


__all__ = ["Row", "parse_rows", "rows_from_csv", "rows_from_jsonl", "rows_from_objects"]
