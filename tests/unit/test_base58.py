"""did_key's base58 codec agrees with the base58 package."""

from __future__ import annotations

import base58
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.protocol import did_key
from ledger.protocol.did_key import DidKeyError

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


@pytest.mark.parametrize("length", [1, 2, 43, 44, 86, 87, 88, 127, 128, 129, 200])
@pytest.mark.parametrize("fill", ["z", "1", "2", "9", "mixed"])
def test_b58decode_at_many_lengths(length, fill):
    import random as _random

    rng = _random.Random(length)
    text = "".join(rng.choice(_B58) for _ in range(length)) if fill == "mixed" else fill * length
    for candidate in (text, "1" * 3 + text[3:], text[:-1] + "1"):
        assert did_key.b58decode(candidate) == base58.b58decode(candidate)
