"""The web3-free reading of the contracts' views (ledger.chain.views): strict ABI decoding, as web3's."""

from __future__ import annotations

import pytest

from ledger.chain.views import decode_abi, to_checksum_address


def word(n: int) -> bytes:
    return n.to_bytes(32, "big")


def string_tail(text: bytes) -> bytes:
    return word(len(text)) + text + bytes(-len(text) % 32)


def test_static_values():
    data = word(7) + word(2**64 - 1) + word(1) + bytes(12) + bytes.fromhex("11" * 20) + b"\xab" * 32
    assert decode_abi(("uint8", "uint64", "bool", "address", "bytes32"), data) == (
        7,
        2**64 - 1,
        True,
        to_checksum_address(bytes.fromhex("11" * 20)),
        b"\xab" * 32,
    )


def test_strings_by_offset():
    code, name = b"zj-hz-education", "杭州市教育局 Hangzhou Education Bureau".encode()
    tail_code = string_tail(code)
    data = word(96) + word(96 + len(tail_code)) + word(1) + tail_code + string_tail(name)
    assert decode_abi(("string", "string", "bool"), data) == ("zj-hz-education", name.decode(), True)
    assert decode_abi(("string",), word(32) + string_tail(b"")) == ("",)


@pytest.mark.parametrize(
    "types, data, reason",
    [
        (("uint64",), b"", "too short"),
        (("uint64", "uint64"), word(1), "too short"),
        (("uint64",), word(2**64), "out of range"),
        (("uint8",), word(256), "out of range"),
        (("bool",), word(2), "bool out of range"),
        (("address",), word(2**160), "padding"),
        (("string",), word(32) + word(2**200), "runs past"),  # an absurd length
        (("string",), word(2**200), "too short"),  # an absurd offset
        (("string",), word(32) + word(3) + b"abc" + b"\x01" + bytes(28), "padding"),
    ],
)
def test_malformed_answers_are_refused(types, data, reason):
    with pytest.raises(ValueError, match=reason):
        decode_abi(types, data)


def test_invalid_utf8_in_a_string_is_refused():
    with pytest.raises(ValueError):
        decode_abi(("string",), word(32) + string_tail(b"\xff\xfe"))


def test_eip55_checksum():
    # the test vectors of EIP-55
    for address in (
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ):
        assert to_checksum_address(bytes.fromhex(address[2:])) == address
