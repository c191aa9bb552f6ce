"""CertLedgerBundle: build, serialise, strict parse with field-named errors."""

from __future__ import annotations

import json
from datetime import UTC

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.protocol.bundle import (
    Anchor,
    Bundle,
    BundleFormatError,
    Caip10,
    bundle_from_json,
    make_anchor,
    parse_bundle,
)
from ledger.protocol.credential import Issuer, issue_credential
from ledger.protocol.credential_types import BUILTIN_TYPES
from ledger.protocol.digest import credential_digest
from ledger.protocol.keys import SigningKey
from ledger.protocol.merkle import MerkleTree, verify
from ledger.protocol.status_list import status_entries

LEDGER = "eip155:31337:0x5FbDB2315678afecb367f032d93F642f64180aa3"
REGISTRY = "eip155:31337:0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"


@pytest.fixture(scope="module")
def anchored() -> tuple[Bundle, MerkleTree]:
    key = SigningKey.generate()
    issuer = Issuer("zj-hz-education", "杭州市教育局")
    creds = [
        issue_credential(
            BUILTIN_TYPES["NoCriminalRecordCertificate"],
            {"name": f"李四{i}", "idNumber": "33010619900101123X"},
            issuer,
            key,
            status=status_entries("https://status.example.gov.cn", "zj-hz-education", 1, i),
        )
        for i in range(5)
    ]
    tree = MerkleTree.build(credential_digest(c) for c in creds)
    anchor = make_anchor(
        ledger=LEDGER,
        registry=REGISTRY,
        digest=tree.digests[3],
        root=tree.root,
        path=tree.proof(3),
        tx_hash=bytes(range(32)),
        block_number=42,
    )
    return Bundle(creds[3], anchor), tree


def good_json(anchored) -> dict:
    return json.loads(anchored[0].to_bytes())


def test_round_trip_and_shape(anchored):
    bundle, tree = anchored
    data = bundle.to_bytes()
    assert "李四3".encode() in data  # UTF-8, not \u escapes
    doc = json.loads(data)
    assert list(doc) == ["type", "version", "credential", "anchor"]
    assert list(doc["anchor"]) == ["ledger", "registry", "digest", "root", "path", "txHash", "blockNumber"]
    assert doc["type"] == "CertLedgerBundle" and doc["version"] == 2
    back = parse_bundle(data)
    assert back == bundle
    assert parse_bundle(data.decode()) == bundle
    a = back.anchor
    assert a.chain_id == 31337 and a.ledger.address_lower == "0x5fbdb2315678afecb367f032d93f642f64180aa3"
    assert back.credential_digest() == a.digest
    assert verify(a.digest, a.path, a.root)


def test_unanchored_bundle(anchored):
    b = Bundle(anchored[0].credential, None)
    doc = json.loads(b.dumps())
    assert doc["anchor"] is None
    assert parse_bundle(b.to_bytes()) == b


def _err(doc_or_text) -> BundleFormatError:
    text = doc_or_text if isinstance(doc_or_text, str) else json.dumps(doc_or_text)
    with pytest.raises(BundleFormatError) as e:
        parse_bundle(text.encode())
    assert e.value.reason
    return e.value


@pytest.mark.parametrize(
    "edit,field",
    [
        (lambda d: d.__setitem__("type", "Bundle"), "type"),
        (lambda d: d.pop("type"), "type"),
        (lambda d: d.__setitem__("version", 1), "version"),
        (lambda d: d.__setitem__("version", 3), "version"),
        (lambda d: d.__setitem__("version", 2.0), "version"),
        (lambda d: d.__setitem__("version", True), "version"),
        (lambda d: d.__setitem__("version", "2"), "version"),
        (lambda d: d.pop("version"), "version"),
        (lambda d: d.__setitem__("extra", 1), "extra"),
        (lambda d: d.pop("credential"), "credential"),
        (lambda d: d.__setitem__("credential", []), "credential"),
        (lambda d: d.pop("anchor"), "anchor"),
        (lambda d: d.__setitem__("anchor", []), "anchor"),
        (lambda d: d["anchor"].__setitem__("note", "x"), "anchor.note"),
        (lambda d: d["anchor"].pop("txHash"), "anchor.txHash"),
        (lambda d: d["anchor"].__setitem__("digest", d["anchor"]["digest"].upper()), "anchor.digest"),
        (lambda d: d["anchor"].__setitem__("digest", "0X" + d["anchor"]["digest"][2:]), "anchor.digest"),
        (lambda d: d["anchor"].__setitem__("root", d["anchor"]["root"][2:]), "anchor.root"),
        (lambda d: d["anchor"].__setitem__("root", d["anchor"]["root"] + "0"), "anchor.root"),
        (lambda d: d["anchor"].__setitem__("txHash", 5), "anchor.txHash"),
        (lambda d: d["anchor"].__setitem__("path", "0x" + "0" * 64), "anchor.path"),
        (lambda d: d["anchor"]["path"].__setitem__(1, "0x1234"), "anchor.path[1]"),
        (lambda d: d["anchor"].__setitem__("path", ["0x" + "0" * 64] * 65), "anchor.path"),
        (lambda d: d["anchor"].__setitem__("blockNumber", "42"), "anchor.blockNumber"),
        (lambda d: d["anchor"].__setitem__("blockNumber", 42.0), "anchor.blockNumber"),
        (lambda d: d["anchor"].__setitem__("blockNumber", True), "anchor.blockNumber"),
        (lambda d: d["anchor"].__setitem__("blockNumber", -1), "anchor.blockNumber"),
        (lambda d: d["anchor"].__setitem__("blockNumber", None), "anchor.blockNumber"),
        (lambda d: d["anchor"].__setitem__("ledger", "eip155:31337"), "anchor.ledger"),
        (
            lambda d: d["anchor"].__setitem__("ledger", "cosmos:hub:0x5FbDB2315678afecb367f032d93F642f64180aa3"),
            "anchor.ledger",
        ),
        (
            lambda d: d["anchor"].__setitem__("ledger", "eip155:031337:0x5FbDB2315678afecb367f032d93F642f64180aa3"),
            "anchor.ledger",
        ),
        (
            lambda d: d["anchor"].__setitem__("ledger", "eip155:31337:0x5FbDB2315678afecb367f032d93F642f64180aa"),
            "anchor.ledger",
        ),
        (
            lambda d: d["anchor"].__setitem__("ledger", "eip155:31337:0x5fbDB2315678afecb367f032d93F642f64180aa3"),
            "anchor.ledger",
        ),
        (
            lambda d: d["anchor"].__setitem__("ledger", "eip155:31337:5FbDB2315678afecb367f032d93F642f64180aa3"),
            "anchor.ledger",
        ),
        (lambda d: d["anchor"].__setitem__("ledger", 31337), "anchor.ledger"),
        (
            lambda d: d["anchor"].__setitem__("registry", "eip155:1:0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"),
            "anchor.registry",
        ),
    ],
)
def test_strict_parse_names_the_field(anchored, edit, field):
    doc = good_json(anchored)
    edit(doc)
    assert _err(doc).field == field


def test_duplicate_keys_are_refused_anywhere(anchored):
    text = anchored[0].dumps()
    top = text.replace('"version": 2,', '"version": 2, "version": 2,', 1)
    assert _err(top).field == "version"
    nested = text.replace('"blockNumber": 42', '"blockNumber": 42, "blockNumber": 43', 1)
    assert _err(nested).field == "blockNumber"
    inner = text.replace('"credentialSubject": {', '"credentialSubject": {"name": "x", ', 1)
    assert _err(inner).field == "name"


@pytest.mark.parametrize(
    "data",
    [b"", b"[]", b"null", b"{", b"\xff\xfe{}", "\ufeff{}".encode(), b'{"type": NaN}', b'{"a": Infinity}'],
)
def test_not_json_or_not_an_object(data):
    with pytest.raises(BundleFormatError) as e:
        parse_bundle(data)
    assert e.value.field == "(bundle)"


def test_checksum_and_lowercase_addresses():
    assert Caip10.parse("eip155:1:0x5fbdb2315678afecb367f032d93f642f64180aa3").chain_id == 1
    assert Caip10.parse("eip155:1:0x5FBDB2315678AFECB367F032D93F642F64180AA3")
    a = Caip10.parse(LEDGER)
    assert str(a) == LEDGER and a.same_account(Caip10.parse(LEDGER.lower().replace("eip155", "eip155")))


def test_make_anchor_validates(anchored):
    with pytest.raises(BundleFormatError):
        make_anchor(
            ledger="x",
            registry=REGISTRY,
            digest=b"\0" * 32,
            root=b"\0" * 32,
            path=[],
            tx_hash=b"\0" * 32,
            block_number=1,
        )
    with pytest.raises(ValueError):
        make_anchor(
            ledger=LEDGER,
            registry=REGISTRY,
            digest=b"\0" * 31,
            root=b"\0" * 32,
            path=[],
            tx_hash=b"\0" * 32,
            block_number=1,
        )


def test_bundle_from_json_accepts_decoded_objects(anchored):
    assert bundle_from_json(good_json(anchored)) == anchored[0]
    with pytest.raises(BundleFormatError):
        bundle_from_json([])


# ------------------------------------------------------------- properties

hex32 = st.binary(min_size=32, max_size=32)
addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
json_leaf = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=20)
json_obj = st.dictionaries(
    st.text(max_size=10),
    st.recursive(
        json_leaf,
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=4),
        max_leaves=10,
    ),
    max_size=6,
)


@st.composite
def anchors(draw):
    chain = draw(st.integers(0, 2**63))
    return Anchor(
        ledger=Caip10(chain, draw(addresses)),
        registry=Caip10(chain, draw(addresses)),
        digest=draw(hex32),
        root=draw(hex32),
        path=tuple(draw(st.lists(hex32, max_size=20))),
        tx_hash=draw(hex32),
        block_number=draw(st.integers(0, 2**64 - 1)),
    )


@settings(max_examples=200, deadline=None)
@given(json_obj, st.none() | anchors(), st.sampled_from([None, 2]))
def test_serialise_parse_round_trip(credential, anchor, indent):
    b = Bundle(credential, anchor)
    assert parse_bundle(b.to_bytes(indent=indent)) == b


@pytest.mark.parametrize(
    "version,code",
    [(1, "UNSUPPORTED_VERSION"), (3, "UNSUPPORTED_VERSION"), ("2", "BUNDLE_MALFORMED"), (2.0, "BUNDLE_MALFORMED")],
)
def test_another_protocol_version_has_its_own_code(anchored, version, code):
    doc = good_json(anchored)
    doc["version"] = version
    assert _err(doc).code == code


def test_a_version_of_any_length_is_unsupported_not_unreadable(anchored):
    text = anchored[0].dumps().replace('"version": 2,', '"version": ' + "9" * 5000 + ",", 1)
    error = _err(text)
    assert (error.field, error.code) == ("version", "UNSUPPORTED_VERSION")
    assert "5000-digit" in error.reason


def test_a_claim_of_5000_digits_is_read_and_refused_by_the_format_check(anchored):
    from datetime import datetime

    from ledger.verification import TrustRoots, verify

    text = anchored[0].dumps().replace('"name": "李四3"', '"name": ' + "7" * 5000, 1)
    report = verify(text, TrustRoots([]), chain=None, now=datetime.now(UTC))
    fmt = report.check("format")
    assert (fmt.code, fmt.data["field"]) == ("CREDENTIAL_MALFORMED", "credential.credentialSubject.name")
    assert "5000-digit integer" in fmt.data["reason"] and report.verdict.value == "INVALID"
