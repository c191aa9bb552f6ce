"""RFC 8785 (JCS): the specification's examples, plus properties checked
against the independent ``rfc8785`` package."""

from __future__ import annotations

import json
import math
import random
import struct

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.protocol.canonical import CanonicalizationError, canonicalize


def _f(hex64: str) -> float:
    return struct.unpack(">d", bytes.fromhex(hex64))[0]


# RFC 8785 Appendix B: IEEE 754 value -> JCS text
RFC8785_NUMBERS = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize("ieee,expected", RFC8785_NUMBERS)
def test_rfc8785_appendix_b_numbers(ieee, expected):
    assert canonicalize(_f(ieee)) == expected.encode()
    assert rfc8785.dumps(_f(ieee)) == expected.encode()  # the oracle agrees


@pytest.mark.parametrize("ieee", ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])
def test_nan_and_infinity_are_refused(ieee):
    with pytest.raises(CanonicalizationError):
        canonicalize(_f(ieee))


def test_rfc8785_section_3_2_2_example():
    text = (
        '{\n  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n'
        '  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n'
        '  "literals": [null, true, false]\n}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonicalize(json.loads(text)) == expected.encode("utf-8")


def test_rfc8785_section_3_2_3_sorting():
    obj = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    out = json.loads(canonicalize(obj))
    # UTF-16 code-unit order: the emoji (D83D DE00) sorts before U+FB33
    assert list(out) == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    assert canonicalize(obj).startswith(b'{"\\r":"Carriage Return","1":"One"')


def test_rfc8785_utf8_example():
    out = canonicalize({"Unnormalized Unicode": "A\u030a"})
    assert out.hex() == "7b22556e6e6f726d616c697a656420556e69636f6465223a2241cc8a227d"


def test_whitespace_and_escaping():
    assert canonicalize({"b": [1, "x"], "a": {"\u007f": "\u001f\t"}}) == (b'{"a":{"\x7f":"\\u001f\\t"},"b":[1,"x"]}')
    assert canonicalize([]) == b"[]" and canonicalize({}) == b"{}"
    assert canonicalize("</script>") == b'"</script>"'  # no solidus escaping


def test_large_integers_are_numbers_as_doubles():
    assert canonicalize(2**53 - 1) == b"9007199254740991"
    # exactly representable: written as JavaScript writes the double
    assert canonicalize(2**53) == b"9007199254740992"
    assert canonicalize(10**21) == b"1e+21"
    assert canonicalize(-(2**60)) == canonicalize(float(-(2**60)))
    # not representable: the double it denotes, as JavaScript would read it
    assert canonicalize(2**53 + 1) == b"9007199254740992"
    assert canonicalize(52124563052362260) == b"52124563052362260"
    with pytest.raises(CanonicalizationError):
        canonicalize({"n": 10**400})


def test_lone_surrogates_and_bad_keys_are_refused():
    with pytest.raises(CanonicalizationError):
        canonicalize("\ud800")
    with pytest.raises(CanonicalizationError):
        canonicalize({1: "x"})
    with pytest.raises(CanonicalizationError):
        canonicalize({"x": object()})


def test_random_doubles_match_the_oracle():
    rng = random.Random(8785)
    for _ in range(20000):
        f = _f(rng.getrandbits(64).to_bytes(8, "big").hex())
        if math.isnan(f) or math.isinf(f):
            continue
        assert canonicalize(f) == rfc8785.dumps(f)


# ---------------------------------------------------------------- properties

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=25,
)


@pytest.mark.slow  # an exhaustive property run: make test, not make check
@settings(max_examples=300, deadline=None)
@given(json_values)
def test_matches_rfc8785_package(value):
    assert canonicalize(value) == rfc8785.dumps(value)


@pytest.mark.slow  # an exhaustive property run: make test, not make check
@settings(max_examples=300, deadline=None)
@given(json_values, st.randoms(use_true_random=False), st.sampled_from([None, 0, 2, "\t"]))
def test_stable_under_key_order_and_whitespace(value, rnd, indent):
    def shuffle(v):
        if isinstance(v, dict):
            items = list(v.items())
            rnd.shuffle(items)
            return {k: shuffle(x) for k, x in items}
        if isinstance(v, list):
            return [shuffle(x) for x in v]
        return v

    reformatted = json.loads(json.dumps(shuffle(value), indent=indent, ensure_ascii=rnd.random() < 0.5))
    assert canonicalize(reformatted) == canonicalize(value)


@pytest.mark.slow  # an exhaustive property run: make test, not make check
@settings(max_examples=300, deadline=None)
@given(json_values)
def test_parses_back_to_an_equal_value(value):
    text = canonicalize(value)
    back = json.loads(text)
    assert canonicalize(back) == text
    if not _has_float(value):
        assert back == value


def _has_float(v) -> bool:
    if isinstance(v, float):
        return True
    if isinstance(v, dict):
        return any(_has_float(x) for x in v.values())
    if isinstance(v, list):
        return any(_has_float(x) for x in v)
    return False
