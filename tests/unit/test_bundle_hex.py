"""A bundle's 0x-hex values (root, txHash, path; follow the strict rule: "0x" and
64 lowercase hex digits, and the error names the field."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.protocol import bundle as bundle_mod
from ledger.protocol.bundle import BundleFormatError

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


class _HexStr(str):
    pass


def test_path_elements_may_be_str_subclasses():
    good = "0x" + "ab" * 32
    assert bundle_mod._path([_HexStr(good), good]) == (bytes.fromhex("ab" * 32),) * 2


def test_root_and_tx_hash_keep_the_strict_rule():
    good = "0x" + "cd" * 32
    assert bundle_mod._hex32(good, "anchor.root") == bytes.fromhex("cd" * 32)
    assert bundle_mod._hex32(_HexStr(good), "anchor.root") == bytes.fromhex("cd" * 32)  # read as its text
    for bad in (good.upper(), good[:-1], None, ["x"], _HexStr(good.upper()), "0x" + "cd" * 31 + " d"):
        with pytest.raises(BundleFormatError) as exc:
            bundle_mod._hex32(bad, "anchor.root")
        assert exc.value.field == "anchor.root"
