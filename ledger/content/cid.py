"""The CID IPFS gives a file added with ``ipfs add --cid-version=1 --raw-leaves``.

DESIGN.md ("Real components"): the embedded content store must name objects
byte-for-byte as an IPFS node does, so that moving to a Kubo node or an IPFS
Cluster changes no CID already printed in a share link or QR code.

What ``ipfs add --cid-version=1 --raw-leaves`` (Kubo and js-ipfs defaults
otherwise: fixed-size chunker of 262,144 bytes, balanced layout, at most 174
links per node, sha2-256) produces:

* **One chunk or less** (0 … 262,144 bytes, the empty file included): a single
  raw block; the CID is CIDv1, codec ``raw`` (0x55), sha2-256 — ``bafkrei…``
  in base32.
* **More than one chunk**: the chunks are raw leaves; they are grouped, in
  order, 174 at a time under dag-pb (0x70) nodes carrying UnixFS ``File``
  data; those nodes are grouped 174 at a time again, and so on until one node
  is left: the root, ``bafybei…`` in base32. (Kubo's balanced builder and
  js-ipfs's ``reduceToParents`` give the same tree: every subtree is full
  before the next one starts.)

A dag-pb node is the protobuf ``PBNode`` in its canonical form (Links, field
2, before Data, field 1); each ``PBLink`` is ``Hash`` (binary CID), ``Name``
(the empty string, written) and ``Tsize`` (the child's block size plus,
for a dag-pb child, its own links' Tsizes). The UnixFS ``Data`` is
``Type = File (2)``, ``filesize`` = the bytes below the node, one
``blocksizes`` entry per child (the bytes below that child), unpacked as in
the proto2 schema; no inline data, no mode, no mtime.

CIDs are written in base32 (lower case, ``b`` multibase prefix), the form
:func:`parse_cid` accepts; it refuses every other spelling of the same CID
(upper case, base58 CIDv0, another multibase), so one object has one name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from multiformats import CID, multihash

CHUNK_SIZE = 262_144
"""Bytes per leaf (the ``size-262144`` chunker, the default of Kubo and js-ipfs)."""

MAX_LINKS = 174
"""Children per dag-pb node in the balanced layout (Kubo and js-ipfs default)."""

RAW = 0x55
DAG_PB = 0x70
SHA2_256 = 0x12

_CODEC_NAMES = {RAW: "raw", DAG_PB: "dag-pb"}
_UNIXFS_FILE = 2


class CIDError(ValueError):
    """A string that is not a CID this system writes (CIDv1, base32, raw or dag-pb, sha2-256)."""


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint((field << 3) | wire_type)


def _len_delimited(field: int, payload: bytes) -> bytes:
    return _key(field, 2) + _varint(len(payload)) + payload


def _make_cid(codec: int, block: bytes) -> CID:
    digest = hashlib.sha256(block).digest()
    return CID("base32", 1, _CODEC_NAMES[codec], multihash.wrap(digest, "sha2-256"))


@dataclass(frozen=True)
class _Node:
    """A node of the file's DAG as seen by its parent."""

    cid: CID
    file_size: int     # bytes of the file below this node
    tsize: int         # cumulative size: this block plus every block below it


def unixfs_file_data(file_size: int, block_sizes: list[int]) -> bytes:
    """The UnixFS ``Data`` protobuf of an internal file node."""
    out = bytearray(_key(1, 0) + _varint(_UNIXFS_FILE))
    out += _key(3, 0) + _varint(file_size)
    for size in block_sizes:
        out += _key(4, 0) + _varint(size)
    return bytes(out)


def dag_pb_node(links: list[tuple[bytes, int]], data: bytes) -> bytes:
    """A canonical dag-pb ``PBNode``: each link ``(binary CID, Tsize)`` with an empty
    name, then the data."""
    out = bytearray()
    for cid_bytes, tsize in links:
        link = _len_delimited(1, cid_bytes) + _len_delimited(2, b"") + _key(3, 0) + _varint(tsize)
        out += _len_delimited(2, link)
    out += _len_delimited(1, data)
    return bytes(out)


def _parent(children: list[_Node]) -> _Node:
    data = unixfs_file_data(sum(c.file_size for c in children), [c.file_size for c in children])
    block = dag_pb_node([(bytes(c.cid), c.tsize) for c in children], data)
    return _Node(_make_cid(DAG_PB, block), sum(c.file_size for c in children),
                 len(block) + sum(c.tsize for c in children))


def compute_cid(data: bytes | bytearray | memoryview) -> str:
    """The CID (base32 string) ``ipfs add --cid-version=1 --raw-leaves`` returns for ``data``.

    ``bafkrei…`` (raw) up to :data:`CHUNK_SIZE` bytes, ``bafybei…`` (dag-pb
    UnixFS root) beyond.
    """
    view = memoryview(data).cast("B")
    if len(view) <= CHUNK_SIZE:
        return str(_make_cid(RAW, view))
    level = [
        _Node(_make_cid(RAW, view[i:i + CHUNK_SIZE]), len(view[i:i + CHUNK_SIZE]), len(view[i:i + CHUNK_SIZE]))
        for i in range(0, len(view), CHUNK_SIZE)
    ]
    while len(level) > 1:
        level = [_parent(level[i:i + MAX_LINKS]) for i in range(0, len(level), MAX_LINKS)]
    return str(level[0].cid)


def parse_cid(text: str) -> CID:
    """Parse a CID written the way this system writes them, or raise :class:`CIDError`.

    Accepted: CIDv1, base32 lower case (``b…``), codec ``raw`` or ``dag-pb``,
    sha2-256 with a 32-byte digest. Any other spelling is refused, even of a
    valid CID, so that one object has exactly one name (a store directory, a
    database key, a link).
    """
    if not isinstance(text, str):
        raise CIDError(f"a CID must be a string, not {type(text).__name__}")
    if not text:
        raise CIDError("the CID is empty")
    if len(text) > 100:
        raise CIDError("the CID is too long")
    if not text.startswith("b"):
        raise CIDError(f"{text[:16]!r}… is not a base32 CIDv1 (it must start with 'b')")
    try:
        cid = CID.decode(text)
    except Exception as exc:  # multiformats raises several types
        raise CIDError(f"{text!r} is not a CID: {exc}") from None
    if cid.version != 1:
        raise CIDError(f"{text!r} is not a CIDv1")
    if cid.codec.code not in _CODEC_NAMES:
        raise CIDError(f"{text!r} has codec {cid.codec.name}, expected raw or dag-pb")
    if cid.hashfun.code != SHA2_256 or len(cid.raw_digest) != 32:
        raise CIDError(f"{text!r} is not a sha2-256 CID")
    if str(cid) != text:
        raise CIDError(f"{text!r} is not in canonical form (lower-case base32): {str(cid)!r}")
    return cid


def is_raw_cid(cid: str | CID) -> bool:
    """True for a single raw block (``bafk…``): content of at most one chunk."""
    parsed = parse_cid(cid) if isinstance(cid, str) else cid
    return parsed.codec.code == RAW


__all__ = [
    "CHUNK_SIZE",
    "MAX_LINKS",
    "CIDError",
    "compute_cid",
    "dag_pb_node",
    "is_raw_cid",
    "parse_cid",
    "unixfs_file_data",
]
