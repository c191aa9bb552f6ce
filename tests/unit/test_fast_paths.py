"""The verification hot path's shortcuts agree with the general code they stand in for.

Each shortcut handles the common case and hands everything else to the exact implementation;
these tests compare the two on generated inputs, and check that every fallback trigger falls back.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.protocol import datetimes
from ledger.protocol.datetimes import DateTimeFormatError, parse_utc_datetime, parse_xsd_datetime

# ------------------------------------------------------------------ dateTime


def _general(text, **kw):
    try:
        return datetimes._parse_xsd_general(text, kw.get("require_tz", True), kw.get("require_utc", False))
    except DateTimeFormatError as exc:
        return ("error", str(exc))


def _public(text, **kw):
    try:
        return parse_xsd_datetime(text, **kw)
    except DateTimeFormatError as exc:
        return ("error", str(exc))


_two = st.integers(0, 99).map(lambda v: f"{v:02d}")
_canonical_shaped = st.builds(
    lambda y, mo, d, h, mi, s: f"{y:04d}-{mo}-{d}T{h}:{mi}:{s}Z",
    st.integers(0, 9999),
    _two,
    _two,
    _two,
    _two,
    _two,
)


@pytest.mark.slow  # an exhaustive property run: make test, not make check
@settings(max_examples=3000, deadline=None)
@given(_canonical_shaped, st.booleans(), st.booleans())
def test_canonical_form_shortcut_agrees_with_the_general_parser(text, require_tz, require_utc):
    kw = {"require_tz": require_tz, "require_utc": require_utc}
    assert _public(text, **kw) == _general(text, **kw)


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-31T08:00:00Z",
        "2024-02-29T23:59:59Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        # forms the shortcut must leave to the general parser (valid or not)
        "2024-12-31T24:00:00Z",
        "2023-02-29T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-01-31T08:00:60Z",
        "2024-01-31T08:60:00Z",
        "2024-01-31T08:00:00z",
        "2024-01-31t08:00:00Z",
        "2024-01-31T08:00:00+00:00",
        "2024-01-31T08:00:00.5Z",
        "２０２４-01-31T08:00:00Z",
        "2024-01-31T0８:00:00Z",
        "+024-01-31T08:00:00Z",
        "-024-01-31T08:00:00Z",
    ],
)
def test_shortcut_edge_cases(text):
    for kw in ({}, {"require_utc": True}, {"require_tz": False}):
        assert _public(text, **kw) == _general(text, **kw)
    assert _public(text) == _public(text)  # a cached answer is the same answer


def test_shortcut_result_is_aware_utc():
    dt = parse_utc_datetime("2024-01-31T08:00:00Z")
    assert dt.tzinfo is not None and dt.utcoffset().total_seconds() == 0
    assert dt == _general("2024-01-31T08:00:00Z")


class _Str(str):
    pass


def test_str_subclass_and_non_strings_take_the_general_path():
    assert parse_xsd_datetime(_Str("2024-01-31T08:00:00Z")) == _general("2024-01-31T08:00:00Z")
    with pytest.raises(DateTimeFormatError):
        parse_xsd_datetime(b"2024-01-31T08:00:00Z")


# ------------------------------------------------------------------ base58

import base58  # noqa: E402

from ledger.protocol import did_key  # noqa: E402
from ledger.protocol.did_key import DidKeyError  # noqa: E402

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


@pytest.mark.slow  # an exhaustive property run: make test, not make check
@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=_B58, max_size=200))
def test_b58decode_matches_the_reference_for_any_string_of_the_alphabet(text):
    assert did_key.b58decode(text) == base58.b58decode(text)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=90))
def test_b58_round_trip_including_leading_zeros(data):
    assert did_key.b58decode(did_key.b58encode(data)) == data


@pytest.mark.parametrize("bad", ["0", "O", "I", "l", "+", " ", "\x00", "é", "１", "\U0001f600", "\udc00"])
@pytest.mark.parametrize("length", [1, 50, 96, 97, 150])
def test_b58decode_refuses_foreign_characters(bad, length):
    text = ("z" * length)[:-1] + bad
    with pytest.raises(DidKeyError):
        did_key.b58decode(text)
    with pytest.raises(DidKeyError):
        did_key.b58decode(bad + ("2" * length)[1:])


# ------------------------------------------------------------------ JCS: member reuse and plain JSON

import json  # noqa: E402

import rfc8785  # noqa: E402

from ledger.protocol.bundle import BundleFormatError, parse_bundle, parse_bundle_plain  # noqa: E402
from ledger.protocol.canonical import (  # noqa: E402
    CanonicalizationError,
    canonicalize,
    json_text_is_bmp,
    member_texts,
    object_text,
    text_bytes,
)

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
@given(_objects)
def test_member_texts_assemble_to_the_canonical_form(obj):
    assert text_bytes(object_text(member_texts(obj))) == _exact(obj)


@pytest.mark.slow  # an exhaustive property run: make test, not make check
@settings(max_examples=1500, deadline=None)
@given(_objects, st.booleans(), st.sampled_from([str, bytes]))
def test_plain_json_path_is_exact_whenever_the_parser_says_plain(obj, ensure_ascii, kind):
    text = _bundle_text(obj, ensure_ascii)
    bundle, plain = parse_bundle_plain(text if kind is str else text.encode("utf-8"))
    credential = bundle.credential
    expected = _exact(credential)
    assert text_bytes(object_text(member_texts(credential, plain_json=plain))) == expected
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
        assert text_bytes(object_text(member_texts(bundle.credential, plain_json=got))) == _exact(credential)


def test_astral_and_private_use_keys_keep_utf16_order():
    credential = {"\ufb33": 1, "\U0001f600": 2, "\ue000": 3, "a": 4, "\uffff": {"\U0001f600": 0, "\ue001": 1}}
    bundle, plain = parse_bundle_plain(_bundle_text(credential, False).encode("utf-8"))
    assert plain is False
    out = text_bytes(object_text(member_texts(bundle.credential, plain_json=plain)))
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


def test_member_texts_errors_match_canonicalize():
    for bad in ({1: "x"}, {"a": float("nan")}, {"a": {"b": object()}}, {"a": 10**400}, {"z": [1.0, set()]}):
        with pytest.raises(CanonicalizationError) as exact:
            canonicalize(bad)
        with pytest.raises(CanonicalizationError) as members:
            member_texts(bad)
        assert str(members.value) == str(exact.value)
        with pytest.raises(CanonicalizationError) as plain:
            member_texts(bad, plain_json=True)  # the C encoder refuses, the exact path names it
        assert str(plain.value) == str(exact.value)
    with pytest.raises(CanonicalizationError):
        text_bytes(object_text(member_texts({"a": "\ud800"}, plain_json=True)))
    with pytest.raises(CanonicalizationError):
        member_texts(["not", "an", "object"])


# ------------------------------------------------------------------ proof + digest from shared parts

import copy  # noqa: E402
from types import MappingProxyType  # noqa: E402

from ledger.governance.key_files import SigningKey  # noqa: E402
from ledger.protocol.digest import credential_digest  # noqa: E402
from ledger.protocol.proof import ProofError, ProofVerificationError, add_proof, verify_proof, verify_proof_and_digest  # noqa: E402

_KEY = SigningKey.from_seed(bytes(range(32)))
_V2 = "https://www.w3.org/ns/credentials/v2"


def _outcome(fn, doc, **kw):
    try:
        return fn(doc, **kw)
    except ProofVerificationError as exc:
        return ("error", exc.code, exc.reason)


def _check_agrees(doc, plain: bool):
    """verify_proof_and_digest agrees with verify_proof, and its digest with credential_digest."""
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
    assert digest is not None  # plain dicts: always assembled
    assert _check_agrees(signed, False) == digest


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


def test_documents_that_are_not_plain_dicts_get_no_assembled_digest():
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
    proof, digest = verify_proof_and_digest(signed)
    assert proof == verify_proof(signed)
    assert digest == credential_digest(signed)


# ------------------------------------------------------------------ Merkle fold with remembered parents

from ledger.protocol import merkle  # noqa: E402
from ledger.protocol.merkle import MerkleError, MerkleTree, compute_root, hash_pair, leaf_hash  # noqa: E402


def _reference_root(digest, proof):
    node = leaf_hash(digest)
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.lists(st.binary(min_size=32, max_size=32), max_size=20))
def test_compute_root_equals_the_plain_fold(digest, proof):
    assert compute_root(digest, proof) == _reference_root(digest, proof)
    assert compute_root(digest, tuple(proof)) == _reference_root(digest, proof)  # now from memory


def _remembered():
    return sum(len(v) for v in merkle._PARENTS.values())


def test_remembered_parents_stay_right_across_clears(monkeypatch):
    monkeypatch.setattr(merkle, "_PARENTS", {})
    monkeypatch.setattr(merkle, "_PARENT_COUNT", 0)
    monkeypatch.setattr(merkle, "_PARENTS_MAX", 5)
    digests = [bytes([i]) * 32 for i in range(1, 40)]
    tree = MerkleTree.build(digests)
    for _ in range(3):
        for i, d in enumerate(digests):
            assert compute_root(d, tree.proof(i)) == tree.root
            assert _remembered() <= 6
    wrong = list(tree.proof(3))
    wrong[1] = bytes(32)
    assert compute_root(digests[3], wrong) != tree.root
    assert compute_root(digests[3], tree.proof(3)) == tree.root


def test_remembered_parents_bounded_for_one_node_with_many_siblings(monkeypatch):
    monkeypatch.setattr(merkle, "_PARENTS", {})
    monkeypatch.setattr(merkle, "_PARENT_COUNT", 0)
    monkeypatch.setattr(merkle, "_PARENTS_MAX", 64)
    for i in range(1000):  # the same leaf with ever new siblings (a forger's pattern)
        sibling = i.to_bytes(32, "big")
        assert compute_root(bytes(32), [sibling]) == hash_pair(leaf_hash(bytes(32)), sibling)
        assert _remembered() <= 65


def test_bytearray_siblings_are_folded_but_not_remembered():
    digest, sibling = bytes(32), bytearray(b"\x07" * 32)
    assert compute_root(digest, [sibling]) == hash_pair(leaf_hash(digest), bytes(sibling))
    assert compute_root(digest, (sibling, bytes(32))) == _reference_root(digest, [bytes(sibling), bytes(32)])


def test_compute_root_checks_sizes_first():
    with pytest.raises(MerkleError):
        compute_root(bytes(32), [bytes(32), b"short"])
    with pytest.raises(MerkleError):
        compute_root(b"short", [])
    assert compute_root(bytes(32), []) == leaf_hash(bytes(32))


# ------------------------------------------------------------------ Merkle path and 0x-hex in bundles

import re  # noqa: E402

from ledger.protocol import bundle as bundle_mod  # noqa: E402

_HEX32_RE = re.compile(r"0x[0-9a-f]{64}")


def _reference_path(path):
    out = []
    for i, p in enumerate(path):
        if type(p) is not str or _HEX32_RE.fullmatch(p) is None:
            return ("error", f"anchor.path[{i}]")
        out.append(bytes.fromhex(p[2:]))
    return tuple(out)


def _path_outcome(path):
    try:
        return bundle_mod._path(path)
    except BundleFormatError as exc:
        return ("error", exc.field)


_hex = st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex())
_element = st.one_of(
    _hex,
    _hex.map(str.upper),
    _hex.map(lambda h: h[:10] + h[10].upper() + h[11:]),
    _hex.map(lambda h: h[:-1]),
    _hex.map(lambda h: h + "0"),
    _hex.map(lambda h: "0X" + h[2:]),
    _hex.map(lambda h: "00" + h[2:]),
    _hex.map(lambda h: h[:5] + " " + h[6:]),
    _hex.map(lambda h: h[:5] + "x" + h[6:]),
    _hex.map(lambda h: h[:2] + "0x" + h[4:]),
    _hex.map(lambda h: h[:30] + "é" + h[31:]),
    _hex.map(lambda h: h[:30] + "٣" + h[31:]),
    st.sampled_from([None, 1, b"\x00" * 32, "", "0x"]),
)


@pytest.mark.slow  # an exhaustive property run: make test, not make check
@settings(max_examples=1500, deadline=None)
@given(st.lists(st.one_of(_hex, _hex, _hex, _element), max_size=16))
def test_path_parsing_agrees_with_the_per_element_rule(path):
    assert _path_outcome(path) == _reference_path(path)


@settings(max_examples=500, deadline=None)
@given(_element)
def test_hex32_agrees_with_the_regex_rule(value):
    ok = type(value) is str and _HEX32_RE.fullmatch(value) is not None
    if ok:
        assert bundle_mod._hex32(value, "f") == bytes.fromhex(value[2:])
    else:
        with pytest.raises(BundleFormatError):
            bundle_mod._hex32(value, "f")


# ------------------------------------------------------------------ Members: one member more or less

from ledger.protocol.canonical import Members, value_text  # noqa: E402


@pytest.mark.slow  # an exhaustive property run: make test, not make check
@settings(max_examples=800, deadline=None)
@given(_objects, _keys, _values)
def test_members_with_and_without_a_member_are_the_canonical_forms(obj, key, value):
    try:
        expected_with = _exact({**obj, key: value})
    except CanonicalizationError:
        return
    members = Members.of(obj)
    assert text_bytes(members.text()) == _exact(obj)
    assert text_bytes(members.with_member(key, value_text(value)).text()) == expected_with
    without = {k: v for k, v in obj.items() if k != key}
    assert text_bytes(members.without(key).text()) == _exact(without)
    assert text_bytes(Members.of({**obj, key: value}).without(key).text()) == _exact(without)


def test_known_path_nodes_are_bounded_and_never_hide_a_bad_element(monkeypatch):
    monkeypatch.setattr(bundle_mod, "_KNOWN_NODES", {})
    monkeypatch.setattr(bundle_mod, "_KNOWN_NODES_MAX", 3)
    good = ["0x" + (bytes([i]) * 32).hex() for i in range(6)]
    for _ in range(3):
        assert _path_outcome(good) == _reference_path(good)
        assert len(bundle_mod._KNOWN_NODES) <= 6
    bad = good[:2] + [good[2].upper()] + good[3:] + ["0x"]
    assert _path_outcome(bad) == ("error", "anchor.path[2]")
    assert _path_outcome(good + [[1]]) == ("error", "anchor.path[6]")


class _HexStr(str):
    pass


def test_path_elements_may_be_str_subclasses():
    good = "0x" + "ab" * 32
    assert bundle_mod._path([_HexStr(good), good]) == (bytes.fromhex("ab" * 32),) * 2


# ------------------------------------------------------------------ plain texts: one C call

from ledger.protocol.canonical import plain_object_text  # noqa: E402


@pytest.mark.slow  # an exhaustive property run: make test, not make check
@settings(max_examples=1000, deadline=None)
@given(_objects)
def test_plain_object_text_is_canonical_for_plain_parses(obj):
    bundle, plain = parse_bundle_plain(_bundle_text({"o": obj}, False).encode("utf-8"))
    if plain:
        text = plain_object_text(bundle.credential["o"])
        assert text is not None and text_bytes(text) == _exact(bundle.credential["o"])


def test_plain_object_text_refuses_what_the_encoder_cannot_take():
    assert plain_object_text({"x": {1, 2}}) is None
    assert plain_object_text([1]) is None
    assert plain_object_text({"a": float("nan")}) is None


# ------------------------------------------------------------------ plain splice of document, proof, credential

from ledger.protocol import proof as proof_mod  # noqa: E402


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
def test_spliced_document_proof_and_credential_are_exact(extra):
    doc = {"@context": [_V2], "id": "urn:uuid:1", "credentialSubject": {"n": "中文"}, "type": ["A", "B"], **extra}
    signed = add_proof(doc, _KEY, created="2024-01-01T00:00:00Z")
    bundle, plain = parse_bundle_plain(_bundle_text(signed, False).encode("utf-8"))
    assert plain
    proof, digest = verify_proof_and_digest(bundle.credential, plain_json=True)
    assert proof == verify_proof(signed) and digest == credential_digest(signed)


def test_split_before_needs_members_on_both_sides():
    assert proof_mod._split_before('{"a":1,"c":3}', {"a": 1, "c": 3}, "b") == ('{"a":1,', '"c":3}')
    assert proof_mod._split_before('{"a":1,"c":3}', {"a": 1, "c": 3}, "0") is None  # would be first
    assert proof_mod._split_before('{"a":1,"c":3}', {"a": 1, "c": 3}, "d") is None  # would be last
    assert proof_mod._split_before('{"a":1,"c":4}', {"a": 1, "c": 3}, "b") is None  # text differs
    assert proof_mod._same_plain_text(["a"], ["a"]) and not proof_mod._same_plain_text([True], [1])
    assert proof_mod._same_plain_text({"x": [1]}, {"x": [1]})


@pytest.mark.parametrize("length", [1, 2, 43, 44, 86, 87, 88, 127, 128, 129, 200])
@pytest.mark.parametrize("fill", ["z", "1", "2", "9", "mixed"])
def test_b58decode_at_the_lane_boundaries(length, fill):
    import random as _random

    rng = _random.Random(length)
    text = "".join(rng.choice(_B58) for _ in range(length)) if fill == "mixed" else fill * length
    for candidate in (text, "1" * 3 + text[3:], text[:-1] + "1"):
        assert did_key.b58decode(candidate) == base58.b58decode(candidate)


def test_known_root_and_tx_hash_keep_the_strict_rule():
    good = "0x" + "cd" * 32
    assert bundle_mod._known_hex32(good, "anchor.root") == bytes.fromhex("cd" * 32)
    assert bundle_mod._known_hex32(good, "anchor.root") == bytes.fromhex("cd" * 32)  # remembered
    for bad in (_HexStr(good), good.upper(), good[:-1], None, ["x"]):
        with pytest.raises(BundleFormatError) as exc:
            bundle_mod._known_hex32(bad, "anchor.root")
        assert exc.value.field == "anchor.root"
