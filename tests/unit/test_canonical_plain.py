"""The plain-JSON fast path (ledger.protocol.canonical_plain: RFC 8785 text by the C encoder) says
exactly what the exact serialiser says, whenever the parser or is_plain lets it run; and the proof
check with it agrees with the one without it."""

from __future__ import annotations

import copy
import json
from types import MappingProxyType

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.governance.key_files import SigningKey
from ledger.protocol.bundle import BundleFormatError, parse_bundle, parse_bundle_plain
from ledger.protocol.canonical import CanonicalizationError, canonicalize, text_bytes
from ledger.protocol.canonical_plain import (
    canonicalize_plain,
    is_plain,
    json_text_is_bmp,
    plain_object_text,
    plain_object_text_sharing,
    shared_member_text,
)
from ledger.protocol.digest import credential_digest
from ledger.protocol.proof import ProofError, ProofVerificationError, add_proof, verify_proof, verify_proof_and_digest
from ledger.protocol.strict_json import parse_strict_json_plain

_keys = st.text(max_size=6) | st.sampled_from(["", "a", "b", "\ue000", "\uffff", "\U00010000", "\U0001f600", "\u20ac"])
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**15) + 1, 10**15 - 1)
    | st.integers(-(2**60), 2**60)  # past 15 characters: not plain
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.sampled_from(["\U0001f600", "\ue000", "\x00", "\u2028", '"\\/'])
)
_values = st.recursive(
    _scalars,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(_keys, c, max_size=5),
    max_leaves=20,
)
_objects = st.dictionaries(_keys, _values, max_size=6)


def _exact(value) -> bytes:
    """canonicalize(value), checked against the rfc8785 package where that accepts the value
    (it refuses integers beyond ±(2**53-1), which canonicalize writes as the double they denote)."""
    out = canonicalize(value)
    try:
        oracle = rfc8785.dumps(value)
    except rfc8785.IntegerDomainError:
        oracle = out
    assert out == oracle
    return out


def _walk(v):
    yield v
    if isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield from _walk(x)
    elif isinstance(v, list):
        for x in v:
            yield from _walk(x)


def _bundle_text(credential: dict, ensure_ascii: bool) -> str:
    return json.dumps(
        {"type": "CertLedgerBundle", "version": 2, "credential": credential, "anchor": None},
        ensure_ascii=ensure_ascii,
    )


@pytest.mark.slow  # an exhaustive property run: make test, not make check
@settings(max_examples=1500, deadline=None)
@given(_objects, st.booleans(), st.sampled_from([str, bytes]))
def test_plain_json_path_is_exact_whenever_the_parser_says_plain(obj, ensure_ascii, kind):
    text = _bundle_text(obj, ensure_ascii)
    bundle, plain = parse_bundle_plain(text if kind is str else text.encode("utf-8"))
    credential = bundle.credential
    expected = _exact(credential)
    assert _text(credential, plain) == expected
    # the triggers: each of these makes the parse non-plain
    parts = list(_walk(credential))
    has_float = any(type(p) is float for p in parts)
    has_long_int = any(type(p) is int and len(str(p)) > 15 for p in parts)
    has_astral = any(type(p) is str and any(ord(ch) > 0xFFFF for ch in p) for p in parts)
    if has_float or has_long_int or has_astral:
        assert not plain
    if not (has_float or has_long_int or has_astral or "\\u" in text):
        assert plain


@pytest.mark.parametrize(
    "credential,plain",
    [
        ({"a": 1, "b": [True, None, "x"], "c": {"d": "中文"}}, True),
        ({"a": 1.5}, False),  # float
        ({"a": 1.0}, False),  # float that looks like an int to Python
        ({"a": [1e16]}, False),
        ({"a": 2**53}, False),  # long integer
        ({"a": -(10**15)}, False),  # 16 characters with the sign
        ({"a": 10**15 - 1}, True),
        ({"\U0001f600": 1, "\ufb33": 2}, False),  # astral key: UTF-16 order differs
        ({"x": {"\U0001f600": 1, "\ufb33": 2}}, False),  # nested
        ({"\ue000": 1, "\uffff": 2, "z": 3}, True),  # BMP-only keys: orders agree
        ({"a": "\U0001f600"}, False),  # astral value: conservative
    ],
)
def test_plain_triggers(credential, plain):
    for ensure_ascii in (False, True):
        text = _bundle_text(credential, ensure_ascii)
        bundle, got = parse_bundle_plain(text.encode("utf-8"))
        expected_plain = plain and "\\u" not in text  # any escape (ensure_ascii) is conservatively not plain
        assert got is expected_plain
        assert _text(bundle.credential, got) == _exact(credential)


def test_astral_and_private_use_keys_keep_utf16_order():
    credential = {"\ufb33": 1, "\U0001f600": 2, "\ue000": 3, "a": 4, "\uffff": {"\U0001f600": 0, "\ue001": 1}}
    bundle, plain = parse_bundle_plain(_bundle_text(credential, False).encode("utf-8"))
    assert plain is False
    out = _text(bundle.credential, plain)
    assert out == _exact(credential)
    assert list(json.loads(out)) == ["a", "\U0001f600", "\ue000", "\ufb33", "\uffff"]


def test_json_text_is_bmp():
    assert json_text_is_bmp(b'{"a":"x"}') and json_text_is_bmp("中文\ue000\uffff".encode())
    assert not json_text_is_bmp("\U0001f600".encode())
    assert not json_text_is_bmp(b'"\\u00e9"')  # any escape: conservative
    assert not json_text_is_bmp(b'"\\ud83d\\ude00"')


def test_plain_parse_flag_is_per_call():
    bundle_float = _bundle_text({"a": 1.5}, False)
    bundle_plain = _bundle_text({"a": 1}, False)
    assert parse_bundle_plain(bundle_float)[1] is False
    assert parse_bundle_plain(bundle_plain)[1] is True
    with pytest.raises(BundleFormatError):
        parse_bundle_plain('{"type": 1.5, "type": 2}')
    assert parse_bundle_plain(bundle_plain)[1] is True
    assert parse_bundle(bundle_plain) == parse_bundle_plain(bundle_plain)[0]


def test_what_the_c_encoder_refuses_goes_to_the_exact_serialiser():
    for bad in ({1: "x"}, {"a": float("nan")}, {"a": {"b": object()}}, {"a": 10**400}, {"z": [1.0, set()]}):
        assert plain_object_text(bad) is None or not is_plain(bad)
        with pytest.raises(CanonicalizationError):
            canonicalize(bad)
    assert plain_object_text({"x": {1, 2}}) is None
    assert plain_object_text([1]) is None
    assert plain_object_text({"a": float("nan")}) is None
    with pytest.raises(CanonicalizationError):
        text_bytes(plain_object_text({"a": "\ud800"}))  # a lone surrogate: no UTF-8


def test_strict_json_notes_plainness_as_the_bundle_parser_does():
    assert parse_strict_json_plain(b'{"a": 1, "b": ["x"]}') == ({"a": 1, "b": ["x"]}, True)
    assert parse_strict_json_plain(b'{"a": 1.5}')[1] is False
    assert parse_strict_json_plain(b'{"a": 12345678901234567}')[1] is False
    assert parse_strict_json_plain('{"a": "\U0001f600"}'.encode())[1] is False
    assert parse_strict_json_plain(b'{"a": 1}')[1] is True  # per call: the float above left no trace


def _text(value, plain: bool) -> bytes:
    """The canonical bytes verification hashes: the C encoder's for a plain parse, else the exact serialiser's."""
    text = plain_object_text(value) if plain else None
    return canonicalize(value) if text is None else text_bytes(text)


@pytest.mark.slow  # an exhaustive property run: make test, not make check
@settings(max_examples=1000, deadline=None)
@given(_objects)
def test_plain_object_text_is_canonical_for_plain_parses(obj):
    bundle, plain = parse_bundle_plain(_bundle_text({"o": obj}, False).encode("utf-8"))
    if plain:
        text = plain_object_text(bundle.credential["o"])
        assert text is not None and text_bytes(text) == _exact(bundle.credential["o"])


_KEY = SigningKey.from_seed(bytes(range(32)))
_V2 = "https://www.w3.org/ns/credentials/v2"


def _outcome(fn, doc, **kw):
    try:
        return fn(doc, **kw)
    except ProofVerificationError as exc:
        return ("error", exc.code, exc.reason)


def _check_agrees(doc, plain: bool):
    """verify_proof_and_digest agrees with verify_proof, and its digest with credential_digest (the exact serialiser)."""
    expected = _outcome(verify_proof, doc)
    got = _outcome(verify_proof_and_digest, doc, plain_json=plain)
    if isinstance(expected, tuple):
        assert got == expected
        return None
    proof, digest = got
    assert proof == expected
    if digest is not None:
        assert digest == credential_digest(doc)
    return digest


@pytest.mark.slow  # an exhaustive property run: make test, not make check
@settings(max_examples=400, deadline=None)
@given(_objects, st.sampled_from(["none", "same", "longer"]), st.booleans())
def test_verify_and_digest_agree_with_the_separate_functions(obj, context, ensure_ascii):
    doc = {k: v for k, v in obj.items() if k not in ("proof", "@context")}
    if context != "none":
        doc["@context"] = [_V2]
    try:
        signed = add_proof(doc, _KEY, created="2024-01-01T00:00:00Z")
    except ProofError:
        return  # not canonicalisable: nothing to verify
    if context == "longer":
        signed["@context"] = [_V2, "https://example.org/extra"]
    bundle, plain = parse_bundle_plain(_bundle_text(signed, ensure_ascii).encode("utf-8"))
    digest = _check_agrees(bundle.credential, plain)
    assert digest is not None or not plain  # a plain parse: the digest comes with the proof check
    assert _check_agrees(signed, False) is None  # not from a plain parse: the caller computes it


def _tampered_cases():
    base = {
        "@context": [_V2],
        "id": "urn:uuid:1",
        "credentialSubject": {"n": 1, "f": 0.5, "s": "中文", "k\ue000": 2},
    }
    signed = add_proof(base, _KEY, created="2024-01-01T00:00:00Z")
    cases = []
    for mutate in (
        lambda d: d["credentialSubject"].__setitem__("n", 2),
        lambda d: d["credentialSubject"].__setitem__("f", 0.25),
        lambda d: d["credentialSubject"].__setitem__("x", None),
        lambda d: d.__setitem__("extra", [1, 2]),
        lambda d: d["proof"].__setitem__("created", "2024-01-01T00:00:01Z"),
        lambda d: d["proof"].__setitem__("@context", [_V2, "x"]),
        lambda d: d["proof"].pop("@context"),
        lambda d: d.__setitem__("@context", []),
        lambda d: d["credentialSubject"].__setitem__("bad", float("nan")),
        lambda d: d["credentialSubject"].__setitem__("bad", object()),
        lambda d: d["credentialSubject"].__setitem__("\U0001f600", "astral key"),
        lambda d: d["credentialSubject"].__setitem__("lone", "\ud800"),
        lambda d: d.__setitem__(1, "non-string key"),
        lambda d: None,
    ):
        doc = copy.deepcopy(signed)
        mutate(doc)
        cases.append(doc)
    return cases


@pytest.mark.parametrize("doc", _tampered_cases())
def test_tampered_and_odd_documents_give_the_same_outcome(doc):
    _check_agrees(doc, False)


def test_documents_that_are_not_plain_dicts_get_no_digest_from_the_proof_check():
    signed = add_proof({"@context": [_V2], "a": 1}, _KEY, created="2024-01-01T00:00:00Z")
    proof, digest = verify_proof_and_digest(MappingProxyType(signed))
    assert digest is None and proof == verify_proof(signed)
    doc = dict(signed)
    doc["proof"] = MappingProxyType(signed["proof"])
    proof, digest = verify_proof_and_digest(doc)
    assert digest is None and proof == verify_proof(doc)


def test_document_context_absent_but_proof_context_empty():
    """§3.3.2: a proof @context of [] is a prefix of a document with none; the digest is of the
    document as it is (no @context member), not of the form that was signed."""
    doc = {"a": 1}
    options = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": "2024-01-01T00:00:00Z",
        "verificationMethod": _KEY.public_key.verification_method,
        "proofPurpose": "assertionMethod",
        "@context": [],
    }
    from ledger.protocol import did_key
    from ledger.protocol.proof import hash_data

    data = hash_data(canonicalize({**doc, "@context": []}), canonicalize(options))
    signed = {**doc, "proof": {**options, "proofValue": did_key.b58btc_encode(_KEY.sign(data))}}
    proof, digest = verify_proof_and_digest(signed, plain_json=True)
    assert proof == verify_proof(signed)
    assert digest == credential_digest(signed)


@pytest.mark.parametrize(
    "extra",
    [
        {},  # the usual shape: @context, credentialSubject, id, issuer | proof | type, validFrom
        {"zzz": {"proof": {"type": "x"}, "type": ',"type":["x"]'}},  # look-alikes after proof
        {"a": ',"proof":{}', "credentialSubject": {"proof": 1, "type": "DataIntegrityProof"}},
        {"\ue000": [{"proofValue": "z1"}]},  # BMP key beyond ASCII, still plain
        {"type": {}, "validFrom": []},
    ],
)
def test_the_plain_path_gives_the_exact_proof_and_digest(extra):
    doc = {"@context": [_V2], "id": "urn:uuid:1", "credentialSubject": {"n": "中文"}, "type": ["A", "B"], **extra}
    signed = add_proof(doc, _KEY, created="2024-01-01T00:00:00Z")
    bundle, plain = parse_bundle_plain(_bundle_text(signed, False).encode("utf-8"))
    assert plain
    proof, digest = verify_proof_and_digest(bundle.credential, plain_json=True)
    assert proof == verify_proof(signed) and digest == credential_digest(signed)


_SIGN_KEYS = st.one_of(st.text(max_size=6), st.sampled_from(["\U0001f600", "\ue000", "a\U00010000", "é", "", "Z", "a"]))
_SIGN_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**60), 2**60),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_SIGN_KEYS, inner, max_size=4)),
    max_leaves=20,
)


@pytest.mark.slow  # an exhaustive property run: make test, not make check
@settings(max_examples=500, deadline=None)
@given(value=st.dictionaries(_SIGN_KEYS, _SIGN_VALUES, max_size=6))
def test_canonicalize_plain_is_canonicalize_whenever_is_plain_says_so(value):
    if is_plain(value):
        assert canonicalize_plain(value) == canonicalize(value)
    else:  # what is_plain refuses really needs the exact serialiser, or has a non-BMP key
        assert any(isinstance(v, float) for v in _leaves(value)) or _has_big_int(value) or _astral_key(value)


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def _has_big_int(value):
    return any(type(v) is int and abs(v) > 2**53 - 1 for v in _leaves(value))


def _astral_key(value):
    if isinstance(value, dict):
        return any(any(ord(c) > 0xFFFF for c in k) or _astral_key(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_astral_key(v) for v in value)
    return False


# ------------------------------------------------------------- a shared member (the display layout)


@pytest.mark.slow  # an exhaustive property run: make test, not make check
@settings(max_examples=1000, deadline=None)
@given(_objects, st.lists(_values, max_size=3))
def test_a_shared_member_spliced_in_gives_the_whole_text(obj, member):
    bundle, plain = parse_bundle_plain(_bundle_text({**obj, "renderMethod": member}, False).encode("utf-8"))
    if plain:
        doc = bundle.credential
        member_text = shared_member_text(doc["renderMethod"])
        assert member_text is not None
        spliced = plain_object_text_sharing(doc, "renderMethod", member_text)
        assert spliced is None or spliced == plain_object_text(doc)
        assert spliced is not None or "\ue000certledger:shared-member\ue000" in json.dumps(doc, ensure_ascii=False)


def test_the_member_memo_tells_true_from_1():
    # True == 1 in Python: a memo keyed by equality would hand one's text to the other
    assert shared_member_text([{"sensitive": True}]) == '[{"sensitive":true}]'
    assert shared_member_text([{"sensitive": 1}]) == '[{"sensitive":1}]'
    assert shared_member_text([{"sensitive": True}]) == '[{"sensitive":true}]'


def test_a_document_holding_the_placeholder_is_written_whole():
    doc = {"a": "\ue000certledger:shared-member\ue000", "renderMethod": [1]}
    assert plain_object_text_sharing(doc, "renderMethod", shared_member_text([1])) is None


def test_a_layout_altered_after_signing_fails_even_once_the_original_is_remembered():
    layout = [{"type": "TemplateRenderMethod", "template": {"sensitive": True, "n": 1}}]
    signed = add_proof(
        {"@context": [_V2], "id": "urn:uuid:1", "renderMethod": layout}, _KEY, created="2024-01-01T00:00:00Z"
    )
    text = json.dumps(signed, ensure_ascii=False)
    bundle, plain = parse_bundle_plain(_bundle_text(json.loads(text), False).encode("utf-8"))
    assert plain and _check_agrees(bundle.credential, True) is not None  # valid, and the layout's text remembered
    for altered in (text.replace('"sensitive": true', '"sensitive": 1'), text.replace('"n": 1', '"n": true')):
        assert altered != text
        bundle, plain = parse_bundle_plain(_bundle_text(json.loads(altered), False).encode("utf-8"))
        outcome = _outcome(verify_proof_and_digest, bundle.credential, plain_json=plain)
        assert (
            isinstance(outcome, tuple)
            and outcome[0] == "error"
            and outcome == _outcome(verify_proof, bundle.credential)
        )
