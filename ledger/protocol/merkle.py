"""Merkle batches of credential digests (docs/protocol.md §5, "Credential digest and Merkle batch").

One anchor transaction commits to a whole batch: ``leaf = keccak256(digest)``,
``parent = keccak256(min(a, b) || max(a, b))`` (unsigned big-endian comparison,
the sorted-pair rule of OpenZeppelin's ``MerkleProof``, so every proof also
verifies on chain). Leaves keep issuance order, adjacent nodes are paired level
by level, an odd last node is carried up unchanged, a one-leaf batch has
``root = leaf``, and a proof lists sibling hashes from the leaf up.

Python compares equal-length ``bytes`` lexicographically, which for 32-byte
values *is* the unsigned big-endian order, so ``a < b`` is the rule exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from ledger.protocol.keccak import keccak256

try:  # direct use of the C constructor avoids a Python call per node
    from sha3 import keccak_256 as _k
except ImportError:  # pragma: no cover
    _k = None

HASH_LEN = 32


class MerkleError(ValueError):
    """A batch or proof that cannot be used (wrong sizes, empty batch...)."""


class DuplicateDigestError(MerkleError):
    """The same credential digest appears twice in one batch (refused)."""

    def __init__(self, digest: bytes, first: int, second: int) -> None:
        super().__init__(
            f"duplicate digest 0x{digest.hex()} at positions {first} and {second}; "
            "a batch may contain each credential only once"
        )
        self.digest = digest
        self.positions = (first, second)


def leaf_hash(digest: bytes) -> bytes:
    """``keccak256(digest)`` over the 32 raw digest bytes."""
    if len(digest) != HASH_LEN:
        raise MerkleError(f"digest must be {HASH_LEN} bytes, got {len(digest)}")
    return keccak256(digest)


def hash_pair(a: bytes, b: bytes) -> bytes:
    """Parent of two nodes: ``keccak256(min(a, b) || max(a, b))``."""
    return keccak256(a + b) if a < b else keccak256(b + a)


def _check_digests(digests: Sequence[bytes]) -> None:
    seen: dict[bytes, int] = {}
    for i, d in enumerate(digests):
        if not isinstance(d, (bytes, bytearray)) or len(d) != HASH_LEN:
            raise MerkleError(f"digest at position {i} is not {HASH_LEN} raw bytes")
        j = seen.setdefault(bytes(d), i)
        if j != i:
            raise DuplicateDigestError(bytes(d), j, i)


def _next_level(level: list[bytes]) -> list[bytes]:
    n = len(level)
    if _k is not None:
        nxt = [_k(a + b).digest() if a < b else _k(b + a).digest() for a, b in zip(level[0 : n - 1 : 2], level[1:n:2])]
    else:  # pragma: no cover
        nxt = [hash_pair(a, b) for a, b in zip(level[0 : n - 1 : 2], level[1:n:2])]
    if n & 1:
        nxt.append(level[-1])  # odd last node carried up unchanged
    return nxt


class MerkleTree:
    """A built batch: the root plus every level, so any proof is cheap to read.

    Build with :meth:`build`; ``proof(i)`` is computed on demand from the stored
    levels (no per-proof hashing), ``proofs()`` returns all of them.
    """

    __slots__ = ("digests", "levels", "_index")

    def __init__(self, digests: list[bytes], levels: list[list[bytes]]) -> None:
        self.digests = digests
        self.levels = levels
        self._index: dict[bytes, int] | None = None

    @classmethod
    def build(cls, digests: Iterable[bytes]) -> MerkleTree:
        """Build the tree of ``digests`` (32-byte credential digests, issuance order).

        Raises :class:`DuplicateDigestError` if a digest repeats and
        :class:`MerkleError` for an empty batch or a value that is not 32 bytes.
        """
        ds = [bytes(d) for d in digests]
        if not ds:
            raise MerkleError("cannot build a Merkle tree of an empty batch")
        _check_digests(ds)
        if _k is not None:
            level = [_k(d).digest() for d in ds]
        else:  # pragma: no cover
            level = [keccak256(d) for d in ds]
        levels = [level]
        while len(level) > 1:
            level = _next_level(level)
            levels.append(level)
        return cls(ds, levels)

    def __len__(self) -> int:
        return len(self.digests)

    @property
    def root(self) -> bytes:
        """The 32-byte root (equal to the single leaf for a one-leaf batch)."""
        return self.levels[-1][0]

    @property
    def leaves(self) -> list[bytes]:
        return self.levels[0]

    def index_of(self, digest: bytes) -> int:
        """Position of ``digest`` in the batch (``KeyError`` if absent)."""
        if self._index is None:
            self._index = {d: i for i, d in enumerate(self.digests)}
        return self._index[bytes(digest)]

    def proof(self, index: int) -> list[bytes]:
        """Sibling hashes from leaf ``index`` up to (not including) the root."""
        n = len(self.digests)
        if not 0 <= index < n:
            raise IndexError(f"leaf index {index} out of range for a batch of {n}")
        out = []
        i = index
        for level in self.levels[:-1]:
            j = i ^ 1
            if j < len(level):
                out.append(level[j])
            i >>= 1
        return out

    def proof_for(self, digest: bytes) -> list[bytes]:
        return self.proof(self.index_of(digest))

    def proofs(self) -> list[list[bytes]]:
        """Every leaf's proof, in leaf order."""
        levels = self.levels[:-1]
        n = len(self.digests)
        proofs: list[list[bytes]] = [[] for _ in range(n)]
        for depth, level in enumerate(levels):
            m = len(level)
            # node k's sibling: evens[k >> 1] when k is odd, odds[k >> 1] when k
            # is even and not the carried last node of an odd-sized level
            odds, evens = level[1:m:2], level[0:m:2]
            for leaf in range(n):
                k = leaf >> depth
                if k & 1:
                    proofs[leaf].append(evens[k >> 1])
                elif k + 1 < m:
                    proofs[leaf].append(odds[k >> 1])
        return proofs


def merkle_root(digests: Iterable[bytes]) -> bytes:
    """Root of a batch of digests (see :class:`MerkleTree`)."""
    return MerkleTree.build(digests).root


def compute_root(digest: bytes, proof: Sequence[bytes]) -> bytes:
    """Fold a proof from the leaf of ``digest`` up; the result is a root candidate."""
    node = leaf_hash(digest)
    for sibling in proof:
        if len(sibling) != HASH_LEN:
            raise MerkleError(f"proof element is not {HASH_LEN} bytes")
        node = _parent(node, bytes(sibling))
    return node


# The bundles of one batch share their upper nodes (a node at height h lies on the path of 2**h
# leaves), so a verifier that meets them in a row hashes each upper node about once.
_parent = lru_cache(maxsize=8192)(hash_pair)


def verify(digest: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """True when ``proof`` leads from ``digest``'s leaf to ``root``.

    Wrong sizes give ``False`` rather than an exception: a verifier treats a
    malformed proof like any proof that does not lead to the root.
    """
    if len(digest) != HASH_LEN or len(root) != HASH_LEN:
        return False
    try:
        return compute_root(digest, proof) == root
    except MerkleError:
        return False


__all__ = [
    "DuplicateDigestError",
    "MerkleError",
    "MerkleTree",
    "compute_root",
    "hash_pair",
    "leaf_hash",
    "merkle_root",
    "verify",
]
