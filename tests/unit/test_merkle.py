"""Merkle batches: docs/protocol.md §5 rule, OpenZeppelin-compatible sorted pairs."""

from __future__ import annotations

import hashlib

import pytest
from Crypto.Hash import keccak as _ck
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.protocol.merkle import (
    DuplicateDigestError,
    MerkleError,
    MerkleTree,
    compute_root,
    hash_pair,
    leaf_hash,
    merkle_root,
    verify,
)


def k(data: bytes) -> bytes:  # independent keccak (pycryptodome) for the reference
    return _ck.new(data=data, digest_bits=256).digest()


def reference_root(digests: list[bytes]) -> bytes:
    """Straight transcription of docs/protocol.md §5.2, recursive on levels."""
    level = [k(d) for d in digests]
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level), 2):
            if i + 1 == len(level):
                nxt.append(level[i])  # odd last node carried up
            else:
                a, b = level[i], level[i + 1]
                lo, hi = (a, b) if int.from_bytes(a, "big") < int.from_bytes(b, "big") else (b, a)
                nxt.append(k(lo + hi))
        level = nxt
    return level[0]


def oz_process_proof(leaf: bytes, proof: list[bytes]) -> bytes:
    """OpenZeppelin MerkleProof.processProof with Hashes.commutativeKeccak256."""
    computed = leaf
    for p in proof:
        computed = k(computed + p) if computed < p else k(p + computed)
    return computed


def digests(n: int, salt: bytes = b"") -> list[bytes]:
    return [hashlib.sha256(salt + i.to_bytes(4, "big")).digest() for i in range(n)]


def test_one_leaf_root_is_the_leaf():
    d = digests(1)
    tree = MerkleTree.build(d)
    assert tree.root == k(d[0]) == leaf_hash(d[0])
    assert tree.proof(0) == []
    assert verify(d[0], [], tree.root)


def test_small_known_shapes():
    d = digests(3)
    l0, l1, l2 = (k(x) for x in d)
    assert merkle_root(d[:2]) == k(min(l0, l1) + max(l0, l1))
    assert merkle_root(d) == hash_pair(hash_pair(l0, l1), l2)
    tree = MerkleTree.build(d)
    assert tree.proof(2) == [hash_pair(l0, l1)]  # the carried node's only sibling is at level 1
    assert tree.proof(0) == [l1, l2]


@pytest.mark.parametrize("n", range(1, 65))
def test_exhaustive_small_batches(n):
    d = digests(n, b"x")
    tree = MerkleTree.build(d)
    assert tree.root == reference_root(d)
    proofs = tree.proofs()
    assert proofs == [tree.proof(i) for i in range(n)]
    for i in range(n):
        assert verify(d[i], proofs[i], tree.root)
        assert oz_process_proof(k(d[i]), proofs[i]) == tree.root  # on-chain rule
        assert tree.index_of(d[i]) == i and tree.proof_for(d[i]) == proofs[i]
        if n > 1:
            assert not verify(d[(i + 1) % n], proofs[i], tree.root)


@settings(max_examples=12, deadline=None)
@given(st.integers(min_value=1, max_value=5000), st.binary(max_size=4))
def test_every_proof_verifies_for_batch_sizes_up_to_5000(n, salt):
    d = digests(n, salt)
    tree = MerkleTree.build(d)
    assert tree.root == reference_root(d)
    for i, p in enumerate(tree.proofs()):
        assert verify(d[i], p, tree.root)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=2, max_value=300), st.data())
def test_any_changed_byte_breaks_verification(n, data):
    d = digests(n)
    tree = MerkleTree.build(d)
    i = data.draw(st.integers(0, n - 1))
    proof = tree.proof(i)
    digest, root = d[i], tree.root
    target = data.draw(st.sampled_from(["digest", "root", "proof"] if proof else ["digest", "root"]))
    pos = data.draw(st.integers(0, 31))
    flip = data.draw(st.integers(1, 255))

    def mutate(b: bytes) -> bytes:
        return b[:pos] + bytes([b[pos] ^ flip]) + b[pos + 1 :]

    if target == "digest":
        digest = mutate(digest)
    elif target == "root":
        root = mutate(root)
    else:
        j = data.draw(st.integers(0, len(proof) - 1))
        proof = proof[:j] + [mutate(proof[j])] + proof[j + 1 :]
    assert not verify(digest, proof, root)


def test_dropping_or_adding_proof_elements_breaks_it():
    d = digests(10)
    tree = MerkleTree.build(d)
    p = tree.proof(3)
    assert not verify(d[3], p[:-1], tree.root)
    assert not verify(d[3], p + [p[0]], tree.root)


def test_duplicates_refused():
    d = digests(5)
    with pytest.raises(DuplicateDigestError) as e:
        MerkleTree.build(d + [d[2]])
    assert e.value.positions == (2, 5) and "duplicate digest" in str(e.value)


def test_bad_inputs():
    with pytest.raises(MerkleError, match="empty"):
        MerkleTree.build([])
    with pytest.raises(MerkleError):
        MerkleTree.build([b"\x00" * 31])
    with pytest.raises(IndexError):
        MerkleTree.build(digests(2)).proof(2)
    assert not verify(b"\x00" * 31, [], b"\x00" * 32)
    assert not verify(digests(1)[0], [b"\x00" * 5], b"\x00" * 32)
    with pytest.raises(MerkleError):
        compute_root(digests(1)[0], [b"\x00"])


def test_comparison_is_unsigned_big_endian():
    a = bytes([0x80]) + b"\x00" * 31  # would be negative as a signed number
    b = bytes([0x01]) + b"\x00" * 31
    assert hash_pair(a, b) == hash_pair(b, a) == k(b + a)
