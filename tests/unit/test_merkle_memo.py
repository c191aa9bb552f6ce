"""compute_root with remembered parents (an lru_cache of the pair hash) equals the plain fold."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.protocol.merkle import MerkleError, MerkleTree, compute_root, hash_pair, leaf_hash


def _reference_root(digest, proof):
    node = leaf_hash(digest)
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.lists(st.binary(min_size=32, max_size=32), max_size=20))
def test_compute_root_equals_the_plain_fold(digest, proof):
    assert compute_root(digest, proof) == _reference_root(digest, proof)
    assert compute_root(digest, tuple(proof)) == _reference_root(digest, proof)  # now from memory


def test_a_wrong_sibling_is_never_answered_from_memory():
    digests = [bytes([i]) * 32 for i in range(1, 40)]
    tree = MerkleTree.build(digests)
    for _ in range(2):
        for i, d in enumerate(digests):
            assert compute_root(d, tree.proof(i)) == tree.root
    wrong = list(tree.proof(3))
    wrong[1] = bytes(32)
    assert compute_root(digests[3], wrong) != tree.root
    assert compute_root(digests[3], tree.proof(3)) == tree.root


def test_bytearray_siblings_are_folded():
    digest, sibling = bytes(32), bytearray(b"\x07" * 32)
    assert compute_root(digest, [sibling]) == hash_pair(leaf_hash(digest), bytes(sibling))
    assert compute_root(digest, (sibling, bytes(32))) == _reference_root(digest, [bytes(sibling), bytes(32)])


def test_compute_root_checks_sizes_first():
    with pytest.raises(MerkleError):
        compute_root(bytes(32), [bytes(32), b"short"])
    with pytest.raises(MerkleError):
        compute_root(b"short", [])
    assert compute_root(bytes(32), []) == leaf_hash(bytes(32))
