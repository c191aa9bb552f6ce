"""Deeply nested JSON is a clear format error, never a crash (web3 raises the recursion limit to
100,000, so the C decoder would overflow the stack first). Each case runs in a child process too:
a segmentation fault there fails the test instead of killing pytest."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ledger.protocol.bundle import BundleFormatError, bundle_from_json, parse_bundle
from ledger.protocol.json_depth import MAX_DEPTH, too_deep, value_too_deep


def _nested_dict(levels: int) -> dict:
    root = node = {}
    for _ in range(levels - 1):
        node["a"] = {}
        node = node["a"]
    return root


def test_text_depth_counts_arrays_and_objects_outside_strings():
    assert not too_deep(b'{"a": [1, 2, {"b": []}]}')
    assert not too_deep(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)
    assert too_deep(b"[" * (MAX_DEPTH + 1))
    assert too_deep('{"a":' * (MAX_DEPTH + 1))
    assert not too_deep('{"s": "' + "[" * 5000 + '"}')
    assert not too_deep(bytearray(b"[" + b"{}," * 2000 + b"{}]"))


def test_value_depth_walks_without_recursion():
    assert not value_too_deep(_nested_dict(MAX_DEPTH))
    assert value_too_deep(_nested_dict(MAX_DEPTH + 1))
    assert value_too_deep(_nested_dict(200_000))  # would overflow a recursive walk
    assert not value_too_deep([{"a": (1, 2)}, "x", 3])
    cyclic: list = []
    cyclic.append(cyclic)
    assert value_too_deep(cyclic)  # a cycle is refused, not walked forever


@pytest.mark.parametrize(
    "text",
    [
        b"[" * 100_000,
        b"{" * 100_000,
        ('{"a":' * 100_000).encode(),
        b'{"type": "CertLedgerBundle", "credential": ' + b"[" * 100_000,
    ],
)
def test_parse_bundle_refuses_deep_text_as_a_format_error(text):
    with pytest.raises(BundleFormatError) as caught:
        parse_bundle(text)
    assert (caught.value.field, caught.value.reason) == ("(bundle)", f"is nested more than {MAX_DEPTH} levels deep")


def test_bundle_from_json_refuses_deep_objects():
    bundle = {
        "type": "CertLedgerBundle",
        "version": 1,
        "credential": {"credentialSubject": _nested_dict(100_000)},
        "anchor": None,
    }
    with pytest.raises(BundleFormatError, match="nested more than"):
        bundle_from_json(bundle)


CHILD = """
import sys
import ledger.verification
from ledger.verification.trust import TrustRoots
# What makes the crash possible: py_ecc (under web3 and eth_account) raises the limit to 100,000 in every
# process that loads them, as the services do; verification alone no longer loads them.
sys.setrecursionlimit(max(100_000, sys.getrecursionlimit()))
root = node = {}
for _ in range(100_000):
    node["a"] = {}
    node = node["a"]
cases = [b"[" * 100_000, b"{" * 100_000, '{"a":' * 100_000,
         {"type": "CertLedgerBundle", "version": 1, "credential": root, "anchor": None}]
for case in cases:
    fmt = ledger.verification.verify(case, TrustRoots([]), None).checks[0]
    print(fmt.status.value, fmt.code, fmt.data["field"], fmt.data["reason"])
"""


@pytest.mark.slow  # an exhaustive property run: make test, not make check
def test_verifier_survives_100000_brackets_in_a_fresh_process():
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    lines = done.stdout.splitlines()
    assert lines == [f"INVALID BUNDLE_MALFORMED (bundle) is nested more than {MAX_DEPTH} levels deep"] * 4
