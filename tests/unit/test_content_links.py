"""ledger.content.links: share links (build, strict parse, key redaction) and their QR codes."""

from __future__ import annotations

import io
import logging
import os
import re
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from ledger.content.cid import compute_cid
from ledger.content.encoding import b64url_encode
from ledger.content.links import (
    ShareLink,
    ShareLinkError,
    build_share_link,
    normalise_verifier_url,
    parse_share_link,
    qr_matrix,
    qr_png,
    qr_svg,
)
from ledger.content.share import decrypt_share, encrypt_share

CID = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
BIG_CID = "bafybeigllfqgfpqydppr6cmv56g7ax4wyhruzswvcefv6j5kj77nzttfki"
KEY = bytes(range(32))
K = b64url_encode(KEY)  # AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8


def link_text(base="https://verify.example.gov.cn", cid=CID, fragment=None) -> str:
    return f"{base}/s/{cid}#" + (fragment if fragment is not None else f"k={K}")


# -- build -----------------------------------------------------------------------------------------


def test_build_and_url():
    link = build_share_link("https://verify.example.gov.cn", CID, KEY)
    assert link.url == f"https://verify.example.gov.cn/s/{CID}#k={K}"
    assert len(K) == 43 and "=" not in K


@pytest.mark.parametrize(
    "base,expected",
    [
        ("https://verify.example.gov.cn/", "https://verify.example.gov.cn"),
        ("HTTPS://Verify.Example.GOV.cn", "https://verify.example.gov.cn"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://localhost:8000/", "http://localhost:8000"),
        ("https://example.gov.cn/verifier/", "https://example.gov.cn/verifier"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("https://xn--fiqs8s.example.cn", "https://xn--fiqs8s.example.cn"),
    ],
)
def test_verifier_url_normalised(base, expected):
    assert normalise_verifier_url(base) == expected
    assert build_share_link(base, CID, KEY).url.startswith(expected + "/s/")


@pytest.mark.parametrize(
    "base,why",
    [
        ("", "non-empty"),
        ("ftp://verify.example.gov.cn", "scheme"),
        ("verify.example.gov.cn", "scheme"),
        ("https://verify.example.gov.cn?x=1", "query"),
        ("https://verify.example.gov.cn#frag", "fragment"),
        ("https://user:pw@verify.example.gov.cn", "user information"),
        ("https://", "no host"),
        ("https://verify..gov.cn", "host name"),
        ("https://verify_example.gov.cn", "host name"),
        ("https://verify.example.gov.cn:99999", "port"),
        ("https://verify.example.gov.cn/a b", "spaces"),
        ("https://验证.gov.cn", "ASCII"),
        ("https://verify.example.gov.cn//double", "path"),
    ],
)
def test_bad_verifier_url(base, why):
    with pytest.raises(ShareLinkError, match=why) as info:
        build_share_link(base, CID, KEY)
    assert info.value.part == "verifier_url"


@pytest.mark.parametrize(
    "cid,key,part",
    [
        ("QmRaaUwTNfwgFZpeUy8qrZwrp2dY4kCKmmB5xEqvH3vtD1", KEY, "cid"),
        (CID.upper(), KEY, "cid"),
        (CID, KEY[:16], "key"),
        (CID, "not bytes", "key"),
    ],
)
def test_build_refuses(cid, key, part):
    with pytest.raises(ShareLinkError) as info:
        build_share_link("https://verify.example.gov.cn", cid, key)
    assert info.value.part == part


# -- parse -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base",
    [
        "https://verify.example.gov.cn",
        "http://127.0.0.1:8000",
        "https://example.gov.cn/verifier",
        "https://example.gov.cn/s",
    ],
)
@pytest.mark.parametrize("cid", [CID, BIG_CID])
def test_parse_round_trip(base, cid):
    link = build_share_link(base, cid, KEY)
    parsed = parse_share_link(link.url)
    assert parsed == link
    assert (parsed.verifier_url, parsed.cid, parsed.key) == (base, cid, KEY)


@pytest.mark.parametrize(
    "text,part,why",
    [
        ("", "link", "empty"),
        (" " + link_text(), "link", "whitespace"),
        (link_text() + "\n", "link", "whitespace"),
        (link_text().replace("#", "?x=1#"), "link", "query"),
        (link_text().split("#")[0], "fragment", "missing"),
        (link_text(fragment=""), "fragment", "k=<key>"),
        (link_text(fragment=f"key={K}"), "fragment", "k=<key>"),
        (link_text(fragment=f"k={K}&x=1"), "key", "43"),
        (link_text(fragment=f"k={K}="), "key", "43"),
        (link_text(fragment=f"k={K[:-1]}"), "key", "43"),
        (link_text(fragment=f"k={K[:-1]}+"), "key", "base64url"),
        (link_text(fragment=f"k={K[:-1]}9"), "key", "trailing bits"),
        (f"https://verify.example.gov.cn/v/{CID}#k={K}", "path", "/s/<cid>"),
        (f"https://verify.example.gov.cn/s/#k={K}", "cid", "missing"),
        (link_text(cid="QmRaaUwTNfwgFZpeUy8qrZwrp2dY4kCKmmB5xEqvH3vtD1"), "cid", "base32"),
        (link_text(cid=CID + "/extra"), "cid", "CID"),
        (link_text(cid=CID.upper()), "cid", "base32"),
        (link_text(base="ftp://verify.example.gov.cn"), "verifier_url", "scheme"),
        (link_text(base="https://verify.example.gov.cn/"), "verifier_url", "canonical"),
        (link_text(base="https://Verify.example.gov.cn"), "verifier_url", "canonical"),
        (link_text(base="https://a:b@verify.example.gov.cn"), "verifier_url", "user"),
        ("x" * 3000, "link", "longer"),
    ],
)
def test_parse_refuses(text, part, why):
    with pytest.raises(ShareLinkError, match=why) as info:
        parse_share_link(text)
    assert info.value.part == part
    assert K not in str(info.value) and K[:20] not in str(info.value)


def test_parse_refuses_non_string():
    with pytest.raises(ShareLinkError, match="string"):
        parse_share_link(b"https://x")  # type: ignore[arg-type]


# -- the key never printed -------------------------------------------------------------------------


def test_repr_and_str_redact_the_key(caplog):
    link = build_share_link("https://verify.example.gov.cn", CID, KEY)
    for text in (repr(link), str(link), f"{link}", "%s" % link, "%r" % (link,), repr([link]), link.redacted):
        assert K not in text
        assert "<redacted>" in text
        assert CID in text
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("share link %s (%r)", link, link)
    assert K not in caplog.text and "<redacted>" in caplog.text
    assert K in link.url  # only when asked for explicitly


# -- end to end: share -> link -> share ------------------------------------------------------------


def test_link_opens_the_share():
    bundle = b'{"type":"CertLedgerBundle","version":1}'
    blob, key = encrypt_share(bundle)
    link = build_share_link("http://127.0.0.1:8000", compute_cid(blob), key)
    parsed = parse_share_link(link.url)
    assert parsed.cid == compute_cid(blob)
    assert decrypt_share(blob, parsed.key) == bundle


# -- QR codes --------------------------------------------------------------------------------------


def png_modules(png: bytes, box_size: int) -> list[list[bool]]:
    """The module matrix read back from the PNG pixels (one sample per module's centre)."""
    img = Image.open(io.BytesIO(png)).convert("L")
    assert img.width == img.height and img.width % box_size == 0
    n = img.width // box_size
    return [
        [img.getpixel((x * box_size + box_size // 2, y * box_size + box_size // 2)) < 128 for x in range(n)]
        for y in range(n)
    ]


def svg_modules(svg: bytes) -> list[list[bool]]:
    root = ET.fromstring(svg)
    _, _, w, h = (int(float(v)) for v in root.get("viewBox").split())
    matrix = [[False] * w for _ in range(h)]
    path = next(el for el in root.iter() if el.tag.endswith("path")).get("d")
    for x, y in re.findall(r"M(\d+),(\d+)H", path):
        matrix[int(y)][int(x)] = True
    return matrix


@pytest.fixture
def link() -> ShareLink:
    blob, key = encrypt_share(b'{"type":"CertLedgerBundle"}')
    return build_share_link("https://verify.example.gov.cn", compute_cid(blob), key)


def test_qr_png_carries_exactly_the_link(link):
    png = qr_png(link, box_size=6)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png_modules(png, 6) == qr_matrix(link)
    zxingcpp = pytest.importorskip("zxingcpp")
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert [d.text for d in decoded] == [link.url]


def test_qr_svg_carries_exactly_the_link(link):
    svg = qr_svg(link)
    assert svg.startswith(b"<?xml")
    modules = svg_modules(svg)
    assert modules == qr_matrix(link)
    zxingcpp = pytest.importorskip("zxingcpp")
    # Rasterise the SVG's modules and decode them.
    scale = 6
    img = Image.new("L", (len(modules) * scale,) * 2, 255)
    for y, row in enumerate(modules):
        for x, dark in enumerate(row):
            if dark:
                img.paste(0, (x * scale, y * scale, (x + 1) * scale, (y + 1) * scale))
    assert [d.text for d in zxingcpp.read_barcodes(img)] == [link.url]


def test_qr_of_link_text_is_parsed_first(link):
    assert qr_matrix(link.url) == qr_matrix(link)
    with pytest.raises(ShareLinkError):
        qr_png('{"type":"CertLedgerBundle","credential":{}}')  # a document is never put in a QR
    with pytest.raises(ShareLinkError):
        qr_svg("https://verify.example.gov.cn/s/" + CID)


def test_qr_matrix_has_quiet_zone_and_finder_patterns(link):
    m = qr_matrix(link, border=4)
    n = len(m)
    assert all(not any(row) for row in m[:4] + m[-4:])
    assert all(not any(row[:4]) and not any(row[-4:]) for row in m)
    # top-left finder: 7x7 dark ring around a light ring around a 3x3 dark centre
    finder = [row[4:11] for row in m[4:11]]
    assert all(finder[0]) and all(finder[6]) and all(r[0] and r[6] for r in finder)
    assert all(finder[i][j] for i in range(2, 5) for j in range(2, 5))
    assert (n - 8) % 4 == 1  # 21, 25, 29 … modules plus the border


def test_qr_different_keys_give_different_codes():
    blob, _ = encrypt_share(b"{}")
    cid = compute_cid(blob)
    a = build_share_link("https://verify.example.gov.cn", cid, os.urandom(32))
    b = build_share_link("https://verify.example.gov.cn", cid, os.urandom(32))
    assert qr_matrix(a) != qr_matrix(b)
