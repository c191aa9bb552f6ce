"""The one UTF-8 decoder: a byte order mark refused (JSON) or stripped (CSV)."""

import pytest

from ledger.protocol.utf8 import ByteOrderMarkError, NotUtf8Error, decode_utf8


def test_plain_utf8_decodes_the_same_either_way():
    for bom in ("refuse", "strip"):
        assert decode_utf8("张三,1".encode(), bom=bom) == "张三,1"
        assert decode_utf8(bytearray(b"{}"), bom=bom) == decode_utf8(memoryview(b"{}"), bom=bom) == "{}"


def test_a_byte_order_mark_is_refused_or_stripped():
    with pytest.raises(ByteOrderMarkError):
        decode_utf8("\ufeff{}".encode(), bom="refuse")
    with pytest.raises(ByteOrderMarkError):
        decode_utf8("\ufeff{}", bom="refuse")
    assert decode_utf8("\ufeffa,b".encode(), bom="strip") == "a,b"
    assert decode_utf8("\ufeff\ufeffa,b".encode(), bom="strip") == "a,b"  # as "utf-8-sig" then the mark did
    assert decode_utf8("\ufeffa,b", bom="strip") == "a,b"
    assert decode_utf8("a\ufeff", bom="refuse") == "a\ufeff"  # only a leading mark counts


def test_bytes_that_are_not_utf8_name_the_first_byte_at_fault():
    with pytest.raises(NotUtf8Error) as caught:
        decode_utf8(b"ab\xffc", bom="refuse")
    assert caught.value.start == 2 and isinstance(caught.value, ValueError)
    with pytest.raises(NotUtf8Error) as caught:
        decode_utf8(b"\xef\xbb\xbfab\xffc", bom="strip")
    assert caught.value.start == 5  # counted in the file, its mark included
