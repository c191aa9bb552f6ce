"""The W3C Verifiable Credentials Data Model 2.0 rules a conforming issuer and verifier enforce.

Two layers, both reporting every failure as a :class:`Violation` (a stable ``code``, the
``member`` at fault as a JSON path such as ``credentialStatus[1].id``, and a sentence):

1. **Structure** (:func:`credential_violations`, :func:`presentation_violations`): ``@context``
   (an array whose first item is the VC 2.0 context URL, then URLs and objects); ``id`` (one URL);
   ``type`` (terms or URLs, including ``VerifiableCredential`` / ``VerifiablePresentation``);
   ``issuer`` (a URL, or an object whose ``id`` is one); ``credentialSubject`` (one or more objects,
   each with at least one claim, ``id`` one URL); the typed objects ``credentialStatus``,
   ``termsOfUse``, ``evidence``, ``refreshService`` and ``credentialSchema`` (each with a ``type``;
   ids that are URLs; a schema needs its ``id``); ``validFrom``/``validUntil`` (XML Schema
   ``dateTimeStamp``, not inverted); ``name``/``description`` (strings or language value objects
   ``{"@value", "@language"?, "@direction"?}``); ``relatedResource`` (objects with a unique ``id``
   and a ``digestSRI`` or ``digestMultibase``, checked against the exact bytes of the contexts
   CertLedger bundles, ``ledger.protocol.jsonld_contexts``); a presentation's ``holder`` and
   ``verifiableCredential``.
2. **JSON-LD expansion in "safe mode"** (:func:`jsonld_violations`): the document is expanded with
   pyld and the bundled contexts only (the loader refuses any other URL). A property no context
   defines (which JSON-LD would silently drop), a redefined ``@protected`` term, a type or id that
   expands to something other than an absolute IRI (an unmapped term, a term mapped to a non-URL),
   and any other JSON-LD error make the document non-conforming.

:func:`check_credential_data_model` and :func:`check_presentation_data_model` run both and raise
:class:`DataModelError`.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from ledger.protocol.contexts import VC_V2_CONTEXT
from ledger.protocol.datetimes import DateTimeFormatError, parse_xsd_datetime
from ledger.protocol.jsonld_contexts import ContextNotBundled, context_bytes, document_loader, is_bundled

VERIFIABLE_CREDENTIAL = "VerifiableCredential"
VERIFIABLE_PRESENTATION = "VerifiablePresentation"
ENVELOPED_CREDENTIAL = "EnvelopedVerifiableCredential"
TYPED_OBJECTS = ("credentialStatus", "termsOfUse", "evidence", "refreshService", "credentialSchema")
LANGUAGE_MEMBERS = ("name", "description")

# Stable codes
CONTEXT_INVALID = "CONTEXT_INVALID"
CONTEXT_NOT_BUNDLED = "CONTEXT_NOT_BUNDLED"
ID_INVALID = "ID_INVALID"
TYPE_INVALID = "TYPE_INVALID"
ISSUER_INVALID = "ISSUER_INVALID"
SUBJECT_INVALID = "SUBJECT_INVALID"
TYPED_OBJECT_INVALID = "TYPED_OBJECT_INVALID"
DATE_INVALID = "DATE_INVALID"
VALIDITY_INVERTED = "VALIDITY_INVERTED"
LANGUAGE_VALUE_INVALID = "LANGUAGE_VALUE_INVALID"
RELATED_RESOURCE_INVALID = "RELATED_RESOURCE_INVALID"
RELATED_RESOURCE_DIGEST_MISMATCH = "RELATED_RESOURCE_DIGEST_MISMATCH"
HOLDER_INVALID = "HOLDER_INVALID"
PRESENTATION_CREDENTIAL_INVALID = "PRESENTATION_CREDENTIAL_INVALID"
DOCUMENT_INVALID = "DOCUMENT_INVALID"
TERM_UNDEFINED = "TERM_UNDEFINED"
PROTECTED_TERM_REDEFINED = "PROTECTED_TERM_REDEFINED"
IRI_INVALID = "IRI_INVALID"
JSONLD_INVALID = "JSONLD_INVALID"

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_BAD_URL_CHARS = re.compile(r"[\s\x00-\x1f\x7f<>\"{}|\\^`]")
_SRI = re.compile(r"(sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})")
_SRI_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}
# multihash codes of the SHA-2 digests a digestMultibase may carry (or a bare 32-byte SHA-256)
_MULTIHASH = {b"\x12\x20": "sha256", b"\x20\x30": "sha384", b"\x13\x40": "sha512"}


@dataclass(frozen=True)
class Violation:
    """One way a document breaks the data model: a stable code, the member at fault, a sentence."""

    code: str
    member: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "member": self.member, "reason": self.reason}


class DataModelError(ValueError):
    """A document that does not conform; ``violations`` lists what was found (never empty)."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = list(violations)
        first = self.violations[0]
        more = f" (and {len(self.violations) - 1} more)" if len(self.violations) > 1 else ""
        super().__init__(f"{first.member}: {first.reason}{more}")

    @property
    def code(self) -> str:
        return self.violations[0].code

    @property
    def member(self) -> str:
        return self.violations[0].member


# --------------------------------------------------------------------------------- helpers


def is_url(value: object) -> TypeGuard[str]:
    """An absolute URL (any scheme: ``https:``, ``did:``, ``urn:``…): a scheme, ``:``, then no white
    space or characters URLs never carry; an ``http(s)`` URL needs a host."""
    if type(value) is not str or not value:
        return False
    scheme, sep, rest = value.partition(":")
    if not sep or not rest or _SCHEME.fullmatch(scheme) is None or _BAD_URL_CHARS.search(value):
        return False
    if scheme.lower() in ("http", "https"):
        try:
            parts = urlsplit(value)
        except ValueError:
            return False
        return bool(parts.hostname)
    return True


def _is_object(value: object) -> TypeGuard[Mapping[str, Any]]:
    return isinstance(value, Mapping)


def _items(value: object) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _path(base: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if base else key


class _Collector:
    def __init__(self) -> None:
        self.found: list[Violation] = []

    def add(self, code: str, member: str, reason: str) -> None:
        self.found.append(Violation(code, member, reason))


# ------------------------------------------------------------------------------- structure


def _context(doc: Mapping[str, Any], out: _Collector) -> None:
    if "@context" not in doc:
        out.add(CONTEXT_INVALID, "@context", "is required")
        return
    ctx = doc["@context"]
    if not isinstance(ctx, list) or not ctx:
        out.add(CONTEXT_INVALID, "@context", f"must be an array whose first item is {VC_V2_CONTEXT}")
        return
    if ctx[0] != VC_V2_CONTEXT:
        out.add(CONTEXT_INVALID, "@context[0]", f"must be {VC_V2_CONTEXT}")
    for i, item in enumerate(ctx[1:], 1):
        if isinstance(item, str):
            if not is_url(item):
                out.add(CONTEXT_INVALID, f"@context[{i}]", "is not a URL")
        elif not _is_object(item):
            out.add(CONTEXT_INVALID, f"@context[{i}]", "must be a URL or a context object")


def _id(doc: Mapping[str, Any], member: str, out: _Collector, *, code: str = ID_INVALID) -> None:
    if "id" in doc and not is_url(doc["id"]):
        out.add(code, _path(member, "id"), "must be a single URL")


def _types(doc: Mapping[str, Any], member: str, out: _Collector, required: str | None) -> None:
    where = _path(member, "type")
    if "type" not in doc:
        out.add(TYPE_INVALID, where, "is required")
        return
    types = doc["type"]
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list) or not types:
        out.add(TYPE_INVALID, where, "must be a term or a URL, or a non-empty array of them")
        return
    for i, t in enumerate(types):
        if not isinstance(t, str) or not t or any(c.isspace() for c in t):
            out.add(
                TYPE_INVALID,
                f"{where}[{i}]" if isinstance(doc["type"], list) else where,
                "must be a term or an absolute URL",
            )
    if required is not None and required not in types:
        out.add(TYPE_INVALID, where, f"must include {required}")


def _language_value(value: object, member: str, out: _Collector) -> None:
    """A string, a language value object, or an array of those (VC 2.0 §11.1)."""
    for i, item in enumerate(_items(value)):
        where = f"{member}[{i}]" if isinstance(value, list) else member
        if isinstance(item, str):
            continue
        if not _is_object(item):
            out.add(LANGUAGE_VALUE_INVALID, where, "must be a string or a language value object")
            continue
        extra = sorted(k for k in item if k not in ("@value", "@language", "@direction"))
        if extra:
            out.add(
                LANGUAGE_VALUE_INVALID,
                where,
                f"a language value object has only @value, @language and @direction, not {', '.join(extra)}",
            )
        if not isinstance(item.get("@value"), str):
            out.add(LANGUAGE_VALUE_INVALID, _path(where, "@value"), "must be a string")
        if "@language" in item and not (
            isinstance(item["@language"], str) and re.fullmatch(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", item["@language"])
        ):
            out.add(LANGUAGE_VALUE_INVALID, _path(where, "@language"), "must be a BCP 47 language tag")
        if "@direction" in item and item["@direction"] not in ("ltr", "rtl"):
            out.add(LANGUAGE_VALUE_INVALID, _path(where, "@direction"), 'must be "ltr" or "rtl"')
    if isinstance(value, list) and not value:
        out.add(LANGUAGE_VALUE_INVALID, member, "must not be an empty array")


def _names(doc: Mapping[str, Any], member: str, out: _Collector) -> None:
    for name in LANGUAGE_MEMBERS:
        if name in doc:
            _language_value(doc[name], _path(member, name), out)


def _issuer(doc: Mapping[str, Any], out: _Collector) -> None:
    if "issuer" not in doc:
        out.add(ISSUER_INVALID, "issuer", "is required")
        return
    issuer = doc["issuer"]
    if isinstance(issuer, str):
        if not is_url(issuer):
            out.add(ISSUER_INVALID, "issuer", "must be a URL or an object whose id is a URL")
    elif _is_object(issuer):
        if not is_url(issuer.get("id")):
            out.add(ISSUER_INVALID, "issuer.id", "must be a URL")
        _names(issuer, "issuer", out)
    else:
        out.add(ISSUER_INVALID, "issuer", "must be a URL or an object whose id is a URL")


def _subjects(doc: Mapping[str, Any], out: _Collector) -> None:
    if "credentialSubject" not in doc:
        out.add(SUBJECT_INVALID, "credentialSubject", "is required")
        return
    value = doc["credentialSubject"]
    if isinstance(value, list) and not value:
        out.add(SUBJECT_INVALID, "credentialSubject", "must be one or more objects")
        return
    for i, subject in enumerate(_items(value)):
        where = f"credentialSubject[{i}]" if isinstance(value, list) else "credentialSubject"
        if not _is_object(subject):
            out.add(SUBJECT_INVALID, where, "must be an object")
        elif not subject:
            out.add(SUBJECT_INVALID, where, "must make at least one claim (an empty object says nothing)")
        else:
            _id(subject, where, out, code=SUBJECT_INVALID)
            _names(subject, where, out)


def _typed_objects(doc: Mapping[str, Any], out: _Collector) -> None:
    for name in TYPED_OBJECTS:
        if name not in doc:
            continue
        value = doc[name]
        if isinstance(value, list) and not value:
            out.add(TYPED_OBJECT_INVALID, name, "must be one or more objects")
            continue
        for i, item in enumerate(_items(value)):
            where = f"{name}[{i}]" if isinstance(value, list) else name
            if not _is_object(item):
                out.add(TYPED_OBJECT_INVALID, where, "must be an object with a type")
                continue
            _types(item, where, out, None)
            if "id" in item and not is_url(item["id"]):
                out.add(TYPED_OBJECT_INVALID, _path(where, "id"), "must be a single URL")
            if name == "credentialSchema" and "id" not in item:
                out.add(TYPED_OBJECT_INVALID, _path(where, "id"), "is required: the URL of the schema")


def _dates(doc: Mapping[str, Any], out: _Collector) -> None:
    parsed = {}
    for name in ("validFrom", "validUntil"):
        if name not in doc:
            continue
        value = doc[name]
        try:
            if not isinstance(value, str):
                raise DateTimeFormatError("must be a string")
            parsed[name] = parse_xsd_datetime(value)
        except DateTimeFormatError as exc:
            out.add(DATE_INVALID, name, f"must be an XML Schema dateTimeStamp (with a time zone): {exc}")
    if len(parsed) == 2 and parsed["validUntil"] < parsed["validFrom"]:
        out.add(VALIDITY_INVERTED, "validUntil", "is earlier than validFrom")


def _b64decode(text: str, urlsafe: bool) -> bytes | None:
    try:
        padded = text + "=" * (-len(text) % 4)
        return (base64.urlsafe_b64decode if urlsafe else base64.b64decode)(padded.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return None


def parse_digest_sri(value: object) -> tuple[str, bytes] | None:
    """``sha256|sha384|sha512-<base64>`` (W3C Subresource Integrity) -> (algorithm, digest)."""
    if not isinstance(value, str):
        return None
    m = _SRI.fullmatch(value)
    if m is None:
        return None
    raw = _b64decode(m.group(2), urlsafe=False)
    if raw is None:
        # VC 2.0 examples also write SRI values in base64url; accept that spelling too
        raw = _b64decode(m.group(2), urlsafe=True)
    if raw is None or len(raw) != _SRI_SIZES[m.group(1)]:
        return None
    return m.group(1), raw


def parse_digest_multibase(value: object) -> tuple[str, bytes] | None:
    """Multibase (``u`` base64url or ``z`` base58btc) of a SHA-2 multihash, or of a bare SHA-256
    digest -> (algorithm, digest)."""
    from ledger.protocol.did_key import DidKeyError, b58decode

    if not isinstance(value, str) or len(value) < 2:
        return None
    if value[0] == "u" and re.fullmatch(r"[A-Za-z0-9_-]+", value[1:]):
        raw = _b64decode(value[1:], urlsafe=True)
    elif value[0] == "z":
        try:
            raw = b58decode(value[1:])
        except DidKeyError:
            raw = None
    else:
        raw = None
    if raw is None:
        return None
    if len(raw) == 32:
        return "sha256", raw
    algorithm = _MULTIHASH.get(raw[:2])
    if algorithm is not None and len(raw) == 2 + _SRI_SIZES[algorithm]:
        return algorithm, raw[2:]
    return None


def _related_resources(doc: Mapping[str, Any], out: _Collector, unchecked: list[str] | None) -> None:
    if "relatedResource" not in doc:
        return
    value = doc["relatedResource"]
    if isinstance(value, list) and not value:
        out.add(RELATED_RESOURCE_INVALID, "relatedResource", "must be one or more objects")
        return
    seen: dict[str, int] = {}
    for i, item in enumerate(_items(value)):
        where = f"relatedResource[{i}]" if isinstance(value, list) else "relatedResource"
        if not _is_object(item):
            out.add(RELATED_RESOURCE_INVALID, where, "must be an object with an id and a digest, not a bare value")
            continue
        rid = item.get("id")
        if not is_url(rid):
            out.add(RELATED_RESOURCE_INVALID, _path(where, "id"), "is required and must be a single URL")
        elif rid in seen:
            out.add(
                RELATED_RESOURCE_INVALID,
                _path(where, "id"),
                f"must be unique among the related resources (the same as relatedResource[{seen[rid]}].id)",
            )
        else:
            seen[rid] = i
        if "mediaType" in item and not isinstance(item["mediaType"], str):
            out.add(RELATED_RESOURCE_INVALID, _path(where, "mediaType"), "must be a string")
        digests = []
        if "digestSRI" in item:
            parsed = parse_digest_sri(item["digestSRI"])
            if parsed is None:
                out.add(
                    RELATED_RESOURCE_INVALID,
                    _path(where, "digestSRI"),
                    "must be sha256-, sha384- or sha512- followed by the base64 digest",
                )
            else:
                digests.append(("digestSRI", parsed))
        if "digestMultibase" in item:
            parsed = parse_digest_multibase(item["digestMultibase"])
            if parsed is None:
                out.add(
                    RELATED_RESOURCE_INVALID,
                    _path(where, "digestMultibase"),
                    "must be a multibase (u or z) SHA-2 digest or multihash",
                )
            else:
                digests.append(("digestMultibase", parsed))
        if "digestSRI" not in item and "digestMultibase" not in item:
            out.add(RELATED_RESOURCE_INVALID, where, "must carry a digestSRI or a digestMultibase")
            continue
        if not is_url(rid) or not digests:
            continue
        if not is_bundled(rid):
            if unchecked is not None:
                unchecked.append(rid)
            continue
        data = context_bytes(rid)
        for name, (algorithm, digest) in digests:
            if hashlib.new(algorithm, data).digest() != digest:
                out.add(
                    RELATED_RESOURCE_DIGEST_MISMATCH,
                    _path(where, name),
                    f"does not match the {algorithm} digest of {rid}",
                )


def credential_violations(doc: object, *, unchecked_resources: list[str] | None = None) -> list[Violation]:
    """The structural rules of VC 2.0 for a credential (secured or not; the proof is not checked
    here). ``unchecked_resources`` collects relatedResource URLs whose bytes CertLedger does not
    have, so whose digests were checked for their form only."""
    out = _Collector()
    if not _is_object(doc):
        out.add(DOCUMENT_INVALID, "", "a verifiable credential is a JSON object")
        return out.found
    _context(doc, out)
    _id(doc, "", out)
    _types(doc, "", out, VERIFIABLE_CREDENTIAL)
    _issuer(doc, out)
    _subjects(doc, out)
    _typed_objects(doc, out)
    _dates(doc, out)
    _names(doc, "", out)
    _related_resources(doc, out, unchecked_resources)
    return out.found


def presentation_violations(doc: object) -> list[Violation]:
    """The structural rules of VC 2.0 for a presentation (its credentials are checked one by one
    by the caller, as credentials)."""
    out = _Collector()
    if not _is_object(doc):
        out.add(DOCUMENT_INVALID, "", "a verifiable presentation is a JSON object")
        return out.found
    _context(doc, out)
    _id(doc, "", out)
    _types(doc, "", out, VERIFIABLE_PRESENTATION)
    if "holder" in doc:
        holder = doc["holder"]
        if _is_object(holder):
            if not is_url(holder.get("id")):
                out.add(HOLDER_INVALID, "holder.id", "must be a URL")
        elif not is_url(holder):
            out.add(HOLDER_INVALID, "holder", "must be a URL or an object whose id is a URL")
    if "verifiableCredential" in doc:
        value = doc["verifiableCredential"]
        for i, vc in enumerate(_items(value)):
            where = f"verifiableCredential[{i}]" if isinstance(value, list) else "verifiableCredential"
            if not _is_object(vc):
                out.add(
                    PRESENTATION_CREDENTIAL_INVALID,
                    where,
                    "must be a verifiable credential object (not a number, string or URL)",
                )
    _names(doc, "", out)
    return out.found


# --------------------------------------------------------------------------------- JSON-LD


_RESOLVED = threading.local()


def _context_resolver() -> Any:  # a pyld ContextResolver (pyld is untyped)
    """pyld's context resolver over the bundled contexts, with a cache of our own per thread (pyld's
    default cache is shared by every loader in the process, and its LRU cache is not thread-safe;
    the services verify in a thread pool)."""
    from pyld.context_resolver import ContextResolver
    from pyld.jsonld import LRUCache

    cache = getattr(_RESOLVED, "cache", None)
    if cache is None:
        cache = _RESOLVED.cache = LRUCache(maxsize=256)
    return ContextResolver(cache, document_loader)


class _ActiveContext(dict[str, Any]):
    """pyld 3.3 deletes ``@vocab`` from the active context for ``"@vocab": null`` without looking
    whether one is set (a KeyError where JSON-LD 1.1 says "nothing to remove"): a missing key is
    simply not there to delete."""

    def __delitem__(self, key: str) -> None:
        self.pop(key, None)


_PROCESSOR_CLASS: Any = None  # a subclass of pyld's JsonLdProcessor, made on first use


def processor(on_property_dropped: Callable[[object], None] | None = None) -> Any:
    """A pyld processor (JSON-LD 1.1) with the ``"@vocab": null`` fix above."""
    global _PROCESSOR_CLASS
    if _PROCESSOR_CLASS is None:
        from pyld import jsonld

        class _Processor(jsonld.JsonLdProcessor):  # type: ignore[misc]  # pyld is untyped (Any)
            def _clone_active_context(self, active_ctx: dict[str, Any]) -> _ActiveContext:
                return _ActiveContext(super()._clone_active_context(active_ctx))

        _PROCESSOR_CLASS = _Processor
    if on_property_dropped is None:
        return _PROCESSOR_CLASS()
    return _PROCESSOR_CLASS(on_property_dropped=on_property_dropped)


def jsonld_options() -> dict[str, Any]:
    """pyld options: the bundled contexts only, JSON-LD 1.1, no base IRI (relative ids stay relative
    and are refused)."""
    return {
        "documentLoader": document_loader,
        "contextResolver": _context_resolver(),
        "processingMode": "json-ld-1.1",
        "base": None,
    }


def _find_key(doc: object, key: str, base: str = "") -> str | None:
    """The path of the first member named ``key`` (what JSON-LD dropped), for the report."""
    if isinstance(doc, Mapping):
        for k, v in doc.items():
            if k == "@context":
                continue
            here = _path(base, k)
            if k == key:
                return here
            found = _find_key(v, key, here)
            if found is not None:
                return found
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            found = _find_key(v, key, f"{base}[{i}]")
            if found is not None:
                return found
    return None


def _find_value(doc: object, keys: tuple[str, ...], value: str, base: str = "") -> str | None:
    """The path of the first ``type``/``id`` member holding ``value``."""
    if isinstance(doc, Mapping):
        for k, v in doc.items():
            if k == "@context":
                continue
            here = _path(base, k)
            if k in keys and (v == value or (isinstance(v, list) and value in v)):
                return here
            found = _find_value(v, keys, value, here)
            if found is not None:
                return found
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            found = _find_value(v, keys, value, f"{base}[{i}]")
            if found is not None:
                return found
    return None


def _absolute(iri: object) -> bool:
    if not isinstance(iri, str):
        return False
    if iri.startswith("_:"):
        return len(iri) > 2
    return is_url(iri)


def _walk_expanded(node: object, bad: list[tuple[str, str]]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk_expanded(item, bad)
        return
    if not isinstance(node, dict):
        return
    if "@value" in node:
        return
    for key, value in node.items():
        if key == "@type":
            for t in _items(value):
                if not _absolute(t):
                    bad.append(("type", t))
        elif key == "@id":
            if not _absolute(value):
                bad.append(("id", value))
        else:
            if not key.startswith("@") and not _absolute(key):
                bad.append(("property", key))
            _walk_expanded(value, bad)


def jsonld_violations(doc: object) -> list[Violation]:
    """Expand ``doc`` in "safe mode": undefined terms, protected-term redefinitions, non-IRI types
    and ids, and JSON-LD errors are violations."""
    from pyld import jsonld

    dropped: list[object] = []
    try:
        expanded = processor(dropped.append).expand(doc, jsonld_options())
    except jsonld.JsonLdError as exc:
        return [_jsonld_error(exc, doc)]
    except ContextNotBundled as exc:
        return [Violation(CONTEXT_NOT_BUNDLED, _context_member(doc, exc.url), str(exc))]
    except RecursionError:
        return [Violation(JSONLD_INVALID, "", "the document nests too deeply to expand")]
    found = []
    for term in dropped:
        name = str(term) if term is not None else "?"
        member = _find_key(doc, name) or name
        found.append(
            Violation(
                TERM_UNDEFINED, member, f"the term {name!r} is not defined by any context (JSON-LD would drop it)"
            )
        )
    bad: list[tuple[str, str]] = []
    _walk_expanded(expanded, bad)
    for kind, value in bad:
        if kind == "type":
            member = _find_value(doc, ("type", "@type"), value) or "type"
            found.append(
                Violation(
                    IRI_INVALID, member, f"the type {value!r} is not defined by any context or does not map to a URL"
                )
            )
        elif kind == "id":
            member = _find_value(doc, ("id", "@id"), value) or "id"
            found.append(Violation(IRI_INVALID, member, f"the identifier {value!r} is not an absolute URL"))
        else:
            member = _find_key(doc, value) or value
            found.append(Violation(IRI_INVALID, member, f"the property {value!r} does not map to a URL"))
    return found


def _context_member(doc: object, url: str) -> str:
    ctx = doc.get("@context") if isinstance(doc, Mapping) else None
    if isinstance(ctx, list) and url in ctx:
        return f"@context[{ctx.index(url)}]"
    return "@context"


def _jsonld_error(exc: Exception, doc: object) -> Violation:
    """The most specific cause of a pyld error, as a violation."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ContextNotBundled):
            return Violation(CONTEXT_NOT_BUNDLED, _context_member(doc, cause.url), str(cause))
        code = getattr(cause, "code", None)
        if code == "protected term redefinition":
            details = getattr(cause, "details", None) or {}
            term = details.get("term") if isinstance(details, dict) else None
            return Violation(
                PROTECTED_TERM_REDEFINED,
                "@context",
                f"redefines the protected term {term!r}" if term else "redefines a protected term",
            )
        nxt = cause.__cause__ or cause.__context__
        if nxt is None or nxt is cause:
            break
        if not isinstance(nxt, Exception):
            break
        cause = nxt
    innermost = cause if cause is not None else exc
    raw = innermost.args[0] if innermost.args and isinstance(innermost.args[0], str) else str(innermost)
    message = raw.splitlines()[0][:300] if raw else type(innermost).__name__
    code = getattr(innermost, "code", None) or getattr(exc, "code", None)
    details = getattr(innermost, "details", None)
    context = details.get("context") if isinstance(details, dict) else None
    if code == "invalid IRI mapping":
        terms = sorted(k for k in context if not k.startswith("@")) if isinstance(context, dict) else []
        where = f" (in the definition of {', '.join(map(repr, terms[:3]))})" if terms else ""
        return Violation(IRI_INVALID, "@context", f"a term is mapped to something that is not a URL{where}")
    member = "@context" if code and ("context" in str(code) or "IRI" in str(code) or "vocab" in str(code)) else ""
    return Violation(JSONLD_INVALID, member, f"JSON-LD: {message}" + (f" ({code})" if code else ""))


def check_credential_data_model(doc: object, *, unchecked_resources: list[str] | None = None) -> None:
    """Raise :class:`DataModelError` unless ``doc`` conforms to VC 2.0 (structure, then JSON-LD)."""
    found = credential_violations(doc, unchecked_resources=unchecked_resources)
    if not found:
        found = jsonld_violations(doc)
    if found:
        raise DataModelError(found)


def check_presentation_data_model(doc: object) -> None:
    """Raise :class:`DataModelError` unless the presentation conforms (its embedded credentials are
    checked separately)."""
    found = presentation_violations(doc)
    if not found:
        found = jsonld_violations(doc)
    if found:
        raise DataModelError(found)


__all__ = [
    "DataModelError",
    "Violation",
    "check_credential_data_model",
    "check_presentation_data_model",
    "credential_violations",
    "is_url",
    "jsonld_options",
    "processor",
    "jsonld_violations",
    "parse_digest_multibase",
    "parse_digest_sri",
    "presentation_violations",
]
