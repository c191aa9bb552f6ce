"""ledger.content.cid: the CID `ipfs add --cid-version=1 --raw-leaves` gives.

The multi-chunk vectors were produced by a real IPFS node (js-ipfs 0.66.1, `add` with
cid-version=1, raw-leaves=true); tests/integration/test_ipfs_store.py checks random inputs
against a live node.
"""

from __future__ import annotations

import hashlib

import pytest
from multiformats import CID, multihash

from ledger.content.cid import (
    CHUNK_SIZE,
    MAX_LINKS,
    CIDError,
    compute_cid,
    dag_pb_node,
    is_raw_cid,
    parse_cid,
    unixfs_file_data,
)


def pattern(n: int) -> bytes:
    return (bytes(range(256)) * (n // 256 + 1))[:n]


VECTORS = [
    # (name, data factory, CID from an IPFS node)
    ("empty", lambda: b"", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
    ("hello world", lambda: b"hello world", "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"),
    ("pattern 10,240", lambda: pattern(10_240), "bafkreihjm5qkq53iof545ph5exo4pvdljw6jljfqafg66cambbjz67mq2a"),
    (
        "zeros 262,144 (one full chunk)",
        lambda: bytes(262_144),
        "bafkreiekhhjkxu4ztk3tyng3er3ijhg56mb44oe3gwbgquhzu4afrg2ksa",
    ),
    (
        "zeros 262,145 (two leaves)",
        lambda: bytes(262_145),
        "bafybeigllfqgfpqydppr6cmv56g7ax4wyhruzswvcefv6j5kj77nzttfki",
    ),
    (
        "pattern 1,048,576 (four leaves)",
        lambda: pattern(1_048_576),
        "bafybeiclphklsx6bfzfb5aezogjldbkeicyyvma6wrfnielfg7haplwahy",
    ),
    (
        "zeros 174 chunks (one full node)",
        lambda: bytes(174 * 262_144),
        "bafybeibxsa3ioclowpaq7b6gxl65gzqneopfr3fnhedak6sqr4bjz5lnyq",
    ),
    (
        "zeros 174 chunks + 1 byte (two levels)",
        lambda: bytes(174 * 262_144 + 1),
        "bafybeihqwzd3o6q6v3pmwhzjy22vokhr767burokmqemg63hptx2nqd7ym",
    ),
]


@pytest.mark.parametrize("name,make,expected", VECTORS, ids=[v[0] for v in VECTORS])
def test_known_vectors(name, make, expected):
    assert compute_cid(make()) == expected


def test_constants_are_the_ipfs_defaults():
    assert CHUNK_SIZE == 262_144
    assert MAX_LINKS == 174


def test_single_chunk_is_a_raw_sha256_cid():
    data = b"x" * CHUNK_SIZE
    cid = CID.decode(compute_cid(data))
    assert cid.version == 1 and cid.codec.name == "raw" and cid.hashfun.name == "sha2-256"
    assert cid.raw_digest == hashlib.sha256(data).digest()
    assert str(cid).startswith("bafkrei")


def test_one_byte_over_a_chunk_is_a_dag_pb_root():
    cid = compute_cid(b"x" * (CHUNK_SIZE + 1))
    assert cid.startswith("bafybei")
    assert not is_raw_cid(cid)
    assert is_raw_cid(compute_cid(b"x"))


def test_accepts_bytes_like():
    data = pattern(3 * CHUNK_SIZE + 7)
    assert compute_cid(bytearray(data)) == compute_cid(memoryview(data)) == compute_cid(data)


def test_two_leaf_root_block_by_hand():
    """The root of a two-leaf file, built from the dag-pb and UnixFS schemas field by field."""
    data = bytes(CHUNK_SIZE + 1)
    leaves = [data[:CHUNK_SIZE], data[CHUNK_SIZE:]]
    leaf_cids = [bytes(CID("base32", 1, "raw", multihash.wrap(hashlib.sha256(x).digest(), "sha2-256"))) for x in leaves]
    # UnixFS Data: Type=File(2), filesize=262145, blocksizes=[262144, 1] (unpacked)
    unixfs = bytes([0x08, 0x02, 0x18]) + bytes([0x81, 0x80, 0x10]) + bytes([0x20, 0x80, 0x80, 0x10, 0x20, 0x01])
    assert unixfs_file_data(CHUNK_SIZE + 1, [CHUNK_SIZE, 1]) == unixfs
    link0 = b"\x0a\x24" + leaf_cids[0] + b"\x12\x00" + b"\x18\x80\x80\x10"
    link1 = b"\x0a\x24" + leaf_cids[1] + b"\x12\x00" + b"\x18\x01"
    node = (
        b"\x12"
        + bytes([len(link0)])
        + link0
        + b"\x12"
        + bytes([len(link1)])
        + link1
        + b"\x0a"
        + bytes([len(unixfs)])
        + unixfs
    )
    assert dag_pb_node([(leaf_cids[0], CHUNK_SIZE), (leaf_cids[1], 1)], unixfs) == node
    root = CID("base32", 1, "dag-pb", multihash.wrap(hashlib.sha256(node).digest(), "sha2-256"))
    assert compute_cid(data) == str(root) == "bafybeigllfqgfpqydppr6cmv56g7ax4wyhruzswvcefv6j5kj77nzttfki"


def test_content_changes_change_the_cid():
    a = pattern(2 * CHUNK_SIZE + 5)
    b = bytearray(a)
    b[CHUNK_SIZE + 3] ^= 1
    assert compute_cid(a) != compute_cid(bytes(b))


# -- parse_cid ---------------------------------------------------------------------------------


def test_parse_accepts_canonical_raw_and_dag_pb():
    for text in (
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",
        "bafybeigllfqgfpqydppr6cmv56g7ax4wyhruzswvcefv6j5kj77nzttfki",
    ):
        assert str(parse_cid(text)) == text


@pytest.mark.parametrize(
    "text,why",
    [
        ("", "empty"),
        ("BAFKREIFZJUT3TE2NHYEKKLSS27NH3K72YSCO7Y32KOAO5EEI66WOF36N5E", "base32"),
        ("Bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e", "base32"),
        ("bafkreiFZjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e", "canonical"),
        ("QmRaaUwTNfwgFZpeUy8qrZwrp2dY4kCKmmB5xEqvH3vtD1", "base32"),
        ("zb2rhk6GMPQF3hfzwXTaNYFLKomMeC6UXdUt6jZKPpeVirLtV", "base32"),
        ("bafyreib4hmpkwa7zyc4x3a3nhlbm3ylmdqyqdkmhpe6ogzuqnsowtujkni", "codec"),
        ("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5", "not a CID"),
        ("bafkr!", "not a CID"),
        ("b" + "a" * 120, "too long"),
    ],
)
def test_parse_refuses(text, why):
    with pytest.raises(CIDError, match=why):
        parse_cid(text)


def test_parse_refuses_other_hash_functions():
    other = CID("base32", 1, "raw", multihash.wrap(hashlib.blake2b(b"x", digest_size=32).digest(), "blake2b-256"))
    with pytest.raises(CIDError, match="sha2-256"):
        parse_cid(str(other))


def test_parse_refuses_non_strings():
    with pytest.raises(CIDError, match="string"):
        parse_cid(b"bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e")  # type: ignore[arg-type]


def test_binary_and_text_forms_agree_with_multiformats():
    from ledger.content.cid import check_cid, cid_bytes, cid_text, compute_cid_bytes

    for data in (b"", b"hello world", pattern(CHUNK_SIZE), pattern(CHUNK_SIZE + 1)):
        binary = compute_cid_bytes(data)
        text = compute_cid(data)
        assert bytes(CID.decode(text)) == binary
        assert cid_text(binary) == text == str(CID.decode(text))
        assert cid_bytes(text) == binary
        assert check_cid(text) == text
    with pytest.raises(CIDError):
        cid_text(b"\x01\x71\x12\x20" + bytes(32))  # dag-cbor: not a codec this system writes


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5E",  # upper case
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5f",  # non-zero trailing bits
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5",  # too short
        "bafyreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",  # dag-cbor
        "QmRaaUwTNfwgFZpeUy8qrZwrp2dY4kCKmmB5xEqvH3vtD1",  # CIDv0
        None,
    ],
)
def test_check_cid_refuses_what_parse_cid_refuses(bad):
    from ledger.content.cid import check_cid

    with pytest.raises(CIDError):
        check_cid(bad)
    with pytest.raises(CIDError):
        parse_cid(bad)
