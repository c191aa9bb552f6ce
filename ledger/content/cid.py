"""The CID IPFS gives a file added with ``ipfs add --cid-version=1 --raw-leaves``.

docs/protocol.md §9.2: the embedded content store must name objects
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

import base64
import hashlib
import re
from dataclasses import dataclass

from multiformats import CID

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


# Binary CIDv1 prefix: version 1, codec, multihash sha2-256 of 32 bytes. The CIDs are built from
# these bytes and base64's base32 directly: the multiformats objects cost ~50x more per CID, which
# showed in bulk issuance (one CID per encrypted share).
_PREFIX = {RAW: bytes((0x01, RAW, SHA2_256, 32)), DAG_PB: bytes((0x01, DAG_PB, SHA2_256, 32))}
_BINARY_LENGTH = 4 + 32
_PREFIXES = frozenset(_PREFIX.values())
_TEXT = re.compile(r"b[a-z2-7]{58}")  # "b" + unpadded base32 of 36 bytes


def _binary_cid(codec: int, block) -> bytes:
    return _PREFIX[codec] + hashlib.sha256(block).digest()


_PAIRS = [a + b for a in "abcdefghijklmnopqrstuvwxyz234567" for b in "abcdefghijklmnopqrstuvwxyz234567"]
_SHIFTS = tuple(range(280, -1, -10))  # 36 bytes = 288 bits, padded to 290: 29 pairs of characters


def _text(binary: bytes) -> str:
    """The base32 (lower case, unpadded, ``b`` multibase prefix) spelling of a 36-byte binary CID:
    ten bits, two characters, at a time (~2x ``base64.b32encode``)."""
    n = int.from_bytes(binary, "big") << 2
    return "b" + "".join([_PAIRS[(n >> shift) & 1023] for shift in _SHIFTS])


def cid_text(binary: bytes) -> str:
    """The text of a binary CID (36 bytes, as :func:`compute_cid_bytes` gives)."""
    if len(binary) != _BINARY_LENGTH or binary[:4] not in _PREFIXES:
        raise CIDError("not a binary CIDv1 (raw or dag-pb, sha2-256)")
    return _text(binary)


def cid_bytes(text: str) -> bytes:
    """The binary form of a CID written the way this system writes them."""
    return base64.b32decode(check_cid(text)[1:].upper() + "======")


@dataclass(frozen=True)
class _Node:
    """A node of the file's DAG as seen by its parent."""

    cid: bytes  # binary CID
    file_size: int  # bytes of the file below this node
    tsize: int  # cumulative size: this block plus every block below it


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
    block = dag_pb_node([(c.cid, c.tsize) for c in children], data)
    return _Node(
        _binary_cid(DAG_PB, block), sum(c.file_size for c in children), len(block) + sum(c.tsize for c in children)
    )


def compute_cid(data: bytes | bytearray | memoryview) -> str:
    """The CID (base32 string) ``ipfs add --cid-version=1 --raw-leaves`` returns for ``data``.

    ``bafkrei…`` (raw) up to :data:`CHUNK_SIZE` bytes, ``bafybei…`` (dag-pb
    UnixFS root) beyond.
    """
    return _text(compute_cid_bytes(data))


def compute_cid_bytes(data: bytes | bytearray | memoryview) -> bytes:
    """:func:`compute_cid` in binary (36 bytes: version, codec, sha2-256 multihash)."""
    if type(data) is not bytes:
        data = memoryview(data).cast("B")
    if len(data) <= CHUNK_SIZE:
        return _binary_cid(RAW, data)
    view = memoryview(data)
    level = []
    for i in range(0, len(view), CHUNK_SIZE):
        leaf = view[i : i + CHUNK_SIZE]
        level.append(_Node(_binary_cid(RAW, leaf), len(leaf), len(leaf)))
    while len(level) > 1:
        level = [_parent(level[i : i + MAX_LINKS]) for i in range(0, len(level), MAX_LINKS)]
    return level[0].cid


def check_cid(text: str) -> str:
    """``text`` if it is a CID written the way this system writes them (see :func:`parse_cid`),
    else :class:`CIDError`. The fast check for paths and lookups: no CID object is built."""
    if type(text) is str and _TEXT.fullmatch(text):
        try:
            binary = base64.b32decode(text[1:].upper() + "======")
        except ValueError:
            binary = b""
        if len(binary) == _BINARY_LENGTH and binary[:4] in _PREFIXES and _text(binary) == text:
            return text
    parse_cid(text)  # raises with the precise reason
    raise CIDError(f"{text!r} is not a CID this system writes")


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
    if isinstance(cid, str):
        check_cid(cid)
        return cid.startswith("bafk")  # the base32 of the raw prefix 01 55 12 20
    return cid.codec.code == RAW


__all__ = [
    "CHUNK_SIZE",
    "MAX_LINKS",
    "CIDError",
    "check_cid",
    "cid_bytes",
    "cid_text",
    "compute_cid",
    "compute_cid_bytes",
    "dag_pb_node",
    "is_raw_cid",
    "parse_cid",
    "unixfs_file_data",
]
