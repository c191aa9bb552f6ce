"""A fast, conservative "certainly valid" test for credential subjects, in front of jsonschema.

jsonschema's generic machinery costs about a third of signing a credential in bulk. Most subject
schemas (the built-in types and typical agency types) use a handful of keywords, which compile here
to plain Python checks. The compiled test answers True only when the subject is certainly valid (where a keyword applies
is decided as jsonschema decides it; what counts as a match, at least as strictly);
anything else (False) goes to jsonschema, which decides and names the fields at fault. It is never
the other way round: a schema with any keyword not listed in ``_compile`` gets no fast test at all.

Keywords covered, with jsonschema's own semantics: ``type`` (one or several), ``properties``,
``required``, ``minProperties``/``maxProperties``, ``additionalProperties`` (a boolean), ``enum``/``const`` of strings, ``minLength``,
``maxLength``, ``pattern`` (``re.search``, as jsonschema), ``format`` (the type's own format checker),
``minimum``/``maximum``/``exclusiveMinimum``/``exclusiveMaximum``; annotations are ignored.
``tests/unit/test_issuance_schema_precheck.py`` checks it against jsonschema.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Mapping
from typing import Any

from ledger.protocol.credential_types import CredentialType
from ledger.protocol.errors import FieldError

Check = Callable[[object], bool]

_ANNOTATIONS = frozenset(
    {"title", "description", "$comment", "examples", "default", "$schema", "deprecated", "readOnly", "writeOnly"}
    | {"x-sensitive", "x-certledger-layout"}  # display annotations (docs/protocol.md §14)
)


class _Unsupported(Exception):
    pass


def _is_number(v) -> bool:
    """Plainly a JSON number (the fast test's own, strict notion)."""
    return type(v) in (int, float)


def _jsonschema_number(v) -> bool:
    """What jsonschema counts as a number (where its numeric keywords apply)."""
    return isinstance(v, numbers.Number) and not isinstance(v, bool)


_TYPES: dict[str, Check] = {
    "string": lambda v: type(v) is str,
    "integer": lambda v: type(v) is int,
    "number": _is_number,
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
}


def _compile(schema, format_checker) -> list[Check]:
    if schema is True or schema == {}:
        return []
    if not isinstance(schema, dict):
        raise _Unsupported("boolean false or non-object schema")
    # Callable[..., bool]: the checks bind their data as default arguments (fast locals), lambdas
    # whose type mypy cannot infer against Check; each is called with the one value.
    checks: list[Callable[..., bool]] = []
    props = schema.get("properties", {})
    for key, value in schema.items():
        if key in _ANNOTATIONS:
            continue
        if key == "type":
            names = [value] if isinstance(value, str) else value
            if not isinstance(names, list) or not names or any(n not in _TYPES for n in names):
                raise _Unsupported("type")
            preds = [_TYPES[n] for n in names]
            checks.append(preds[0] if len(preds) == 1 else (lambda v, ps=tuple(preds): any(p(v) for p in ps)))
        elif key in ("enum", "const"):
            options = value if key == "enum" else [value]
            if not isinstance(options, list) or not all(type(o) is str for o in options):
                raise _Unsupported(key)
            allowed = frozenset(options)
            checks.append(lambda v, a=allowed: type(v) is str and v in a)
        elif key in ("minLength", "maxLength"):
            if type(value) is not int:
                raise _Unsupported(key)
            if key == "minLength":
                checks.append(lambda v, n=value: not isinstance(v, str) or len(v) >= n)
            else:
                checks.append(lambda v, n=value: not isinstance(v, str) or len(v) <= n)
        elif key in ("minProperties", "maxProperties"):
            if type(value) is not int:
                raise _Unsupported(key)
            if key == "minProperties":
                checks.append(lambda v, n=value: not isinstance(v, dict) or len(v) >= n)
            else:
                checks.append(lambda v, n=value: not isinstance(v, dict) or len(v) <= n)
        elif key == "pattern":
            if not isinstance(value, str):
                raise _Unsupported(key)
            search = re.compile(value).search
            checks.append(lambda v, s=search: not isinstance(v, str) or s(v) is not None)
        elif key == "format":
            if format_checker is None or not isinstance(value, str):
                raise _Unsupported(key)
            checks.append(lambda v, f=value, c=format_checker: c.conforms(v, f))
        elif key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if not _is_number(value):
                raise _Unsupported(key)
            compare = {
                "minimum": lambda v, b: v >= b,
                "maximum": lambda v, b: v <= b,
                "exclusiveMinimum": lambda v, b: v > b,
                "exclusiveMaximum": lambda v, b: v < b,
            }[key]
            checks.append(lambda v, b=value, op=compare: not _jsonschema_number(v) or (_is_number(v) and op(v, b)))
        elif key == "properties":
            if not isinstance(value, dict):
                raise _Unsupported(key)
            compiled = {name: _all(_compile(sub, format_checker)) for name, sub in value.items()}
            checks.append(
                lambda v, c=compiled: (
                    not isinstance(v, dict) or all(check(v[name]) for name, check in c.items() if name in v)
                )
            )
        elif key == "required":
            if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
                raise _Unsupported(key)
            checks.append(lambda v, names=tuple(value): not isinstance(v, dict) or all(n in v for n in names))
        elif key == "additionalProperties":
            if value is True:
                continue
            if value is not False or "patternProperties" in schema:
                raise _Unsupported(key)
            known = frozenset(props) if isinstance(props, dict) else frozenset()
            checks.append(lambda v, k=known: not isinstance(v, dict) or k.issuperset(v))
        else:
            raise _Unsupported(key)
    return checks


def _all(checks: list[Check]) -> Check:
    if not checks:
        return lambda v: True
    if len(checks) == 1:
        return checks[0]
    all_of: Callable[..., bool] = lambda v, cs=tuple(checks): all(c(v) for c in cs)  # noqa: E731 (as above)
    return all_of


def compile_fast_check(schema: Mapping[str, Any], format_checker: Any = None) -> Check | None:
    """The "certainly valid" test of ``schema``, or None when it uses keywords not covered here."""
    try:
        return _all(_compile(schema, format_checker))
    except (_Unsupported, re.error):
        return None


class FastValidatedType:
    """A credential type whose subject check tries the fast test first (for ``issue_credential``,
    which needs ``name`` and ``subject_errors``)."""

    __slots__ = ("ctype", "name", "schema", "description", "_fast")

    def __init__(self, ctype: CredentialType) -> None:
        self.ctype, self.name, self.schema, self.description = ctype, ctype.name, ctype.schema, ctype.description
        validator = getattr(ctype, "_validator", None)
        self._fast = compile_fast_check(ctype.schema, getattr(validator, "format_checker", None)) if validator else None

    @property
    def accelerated(self) -> bool:
        return self._fast is not None

    @property
    def type_id(self) -> bytes:
        return self.ctype.type_id

    @property
    def render_method(self) -> dict[str, Any] | None:
        return self.ctype.render_method

    def subject_errors(self, subject: object) -> list[FieldError]:
        if self._fast is not None and self._fast(subject):
            return []
        return self.ctype.subject_errors(subject)


__all__ = ["FastValidatedType", "compile_fast_check"]
