"""Share links and their QR codes (docs/protocol.md §9, "Encrypted share, share link, QR code").

A share link is ``<verifier URL>/s/<cid>#k=<base64url key>``:

* ``<verifier URL>`` — ``http`` or ``https``, a host, an optional port and an
  optional path prefix (``https://verify.example.gov.cn`` or
  ``https://example.gov.cn/verify``); no user info, query or fragment; written
  without a trailing slash. The scheme and host are written in lower case.
* ``<cid>`` — the encrypted share's CID, CIDv1 base32 (``bafk…``, or
  ``bafy…`` for a share larger than one IPFS chunk).
* ``k`` — the 32-byte AES-256-GCM key, base64url without padding (43
  characters). It sits in the fragment, which browsers never send to a server.

Parsing is strict: a query string, another fragment, a key that is not 43
canonical base64url characters, a CID in another form are each refused with
:class:`ShareLinkError`, whose ``part`` names the part at fault. Error
messages never contain the key or the fragment.

**The key is a secret.** :class:`ShareLink` prints (``repr``, ``str``,
f-strings, logging) with the key redacted; the full link is only ever
:attr:`ShareLink.url`, asked for explicitly.

The QR code carries the link, never the document: :func:`qr_png` and
:func:`qr_svg` take a :class:`ShareLink` (or a link text, which is parsed first).
"""

from __future__ import annotations

import io
import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import qrcode
import qrcode.constants
import qrcode.image.svg

from ledger.content.cid import CIDError, parse_cid
from ledger.content.encoding import b64url_decode, b64url_encode
from ledger.content.share import KEY_BYTES

MAX_LINK_LENGTH = 2048
_KEY_CHARS = 43  # base64url of 32 bytes, unpadded
_HOST = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")
_PATH_PREFIX = re.compile(r"(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*")


class ShareLinkError(ValueError):
    """A share link (or verifier URL) that cannot be built or parsed; ``part`` is one of
    ``link``, ``verifier_url``, ``path``, ``cid``, ``fragment``, ``key``."""

    def __init__(self, part: str, reason: str) -> None:
        self.part = part
        self.reason = reason
        super().__init__(f"share link: {part}: {reason}")


def normalise_verifier_url(url: str) -> str:
    """Check a verifier base URL and return it in the form links use (lower-case scheme and
    host, no trailing slash); raise :class:`ShareLinkError` (part ``verifier_url``)."""
    if not isinstance(url, str) or not url:
        raise ShareLinkError("verifier_url", "must be a non-empty string")
    if any(c.isspace() for c in url) or not url.isascii():
        raise ShareLinkError("verifier_url", "must be ASCII without spaces (use the punycode of the host)")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ShareLinkError("verifier_url", f"the scheme must be https or http, not {parts.scheme!r}")
    if parts.query or "?" in url:
        raise ShareLinkError("verifier_url", "must not have a query string")
    if parts.fragment or "#" in url:
        raise ShareLinkError("verifier_url", "must not have a fragment")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ShareLinkError("verifier_url", "must not carry user information")
    host = (parts.hostname or "").lower()
    if not host:
        raise ShareLinkError("verifier_url", "has no host")
    try:
        port = parts.port
    except ValueError:
        raise ShareLinkError("verifier_url", "the port is not a number from 0 to 65535") from None
    if ":" in host:  # IPv6 literal
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ShareLinkError("verifier_url", f"{host!r} is not a valid IPv6 address") from None
        netloc = f"[{host}]"
    elif _HOST.fullmatch(host):
        netloc = host
    else:
        raise ShareLinkError("verifier_url", f"{host!r} is not a valid host name")
    if port is not None:
        netloc += f":{port}"
    path = parts.path.rstrip("/")
    if not _PATH_PREFIX.fullmatch(path) or "//" in path:
        raise ShareLinkError("verifier_url", f"the path {parts.path!r} is not a plain path prefix")
    return f"{scheme}://{netloc}{path}"


@dataclass(frozen=True)
class ShareLink:
    """A share link: where to verify, which object, and the key that opens it.

    ``str()``/``repr()`` redact the key; use :attr:`url` for the real link.
    """

    verifier_url: str
    cid: str
    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "verifier_url", normalise_verifier_url(self.verifier_url))
        try:
            parse_cid(self.cid)
        except CIDError as exc:
            raise ShareLinkError("cid", str(exc)) from None
        if not isinstance(self.key, (bytes, bytearray)) or len(self.key) != KEY_BYTES:
            raise ShareLinkError("key", f"must be {KEY_BYTES} bytes")
        object.__setattr__(self, "key", bytes(self.key))

    @property
    def url(self) -> str:
        """The full link, key included. Never log it."""
        return share_url(self.verifier_url, self.cid, self.key)

    @property
    def redacted(self) -> str:
        """The link with the key replaced by ``<redacted>``: safe to log."""
        return f"{self.verifier_url}/s/{self.cid}#k=<redacted>"

    def __repr__(self) -> str:
        return f"ShareLink({self.redacted!r})"

    def __str__(self) -> str:
        return self.redacted


def share_url(verifier_url: str, cid: str, key: bytes) -> str:
    """The link's text from parts already checked (a normalised verifier URL, a CID, a 32-byte
    key), for many links at a time; :class:`ShareLink` checks them."""
    return f"{verifier_url}/s/{cid}#k={b64url_encode(key)}"


def build_share_link(verifier_url: str, cid: str, key: bytes) -> ShareLink:
    """A :class:`ShareLink`; raises :class:`ShareLinkError` naming the part at fault."""
    return ShareLink(verifier_url, cid, key)


def parse_share_link(text: str) -> ShareLink:
    """Parse ``<verifier URL>/s/<cid>#k=<base64url key>`` strictly; raise
    :class:`ShareLinkError` naming the part at fault (never echoing the key)."""
    if not isinstance(text, str):
        raise ShareLinkError("link", f"must be a string, not {type(text).__name__}")
    if not text:
        raise ShareLinkError("link", "is empty")
    if len(text) > MAX_LINK_LENGTH:
        raise ShareLinkError("link", f"is longer than {MAX_LINK_LENGTH} characters")
    if text != text.strip() or any(c.isspace() for c in text):
        raise ShareLinkError("link", "contains whitespace")
    base, hash_sign, fragment = text.partition("#")
    if not hash_sign:
        raise ShareLinkError("fragment", "missing: the link must end with '#k=<key>'")
    if "?" in base:
        raise ShareLinkError("link", "must not have a query string")
    prefix, slash_s, cid = base.rpartition("/s/")
    if not slash_s:
        raise ShareLinkError("path", "must end with '/s/<cid>'")
    if not cid:
        raise ShareLinkError("cid", "missing after '/s/'")
    try:
        parse_cid(cid)
    except CIDError as exc:
        raise ShareLinkError("cid", str(exc)) from None
    if not fragment.startswith("k="):
        raise ShareLinkError("fragment", "must be 'k=<key>'")
    encoded = fragment[2:]
    if len(encoded) != _KEY_CHARS:
        raise ShareLinkError(
            "key", f"must be {_KEY_CHARS} base64url characters (a {KEY_BYTES}-byte key), got {len(encoded)}"
        )
    try:
        key = b64url_decode(encoded)
    except ValueError as exc:
        raise ShareLinkError("key", str(exc)) from None
    link = ShareLink(prefix, cid, key)
    if link.verifier_url != prefix:
        raise ShareLinkError("verifier_url", f"not in canonical form; expected {link.verifier_url!r}")
    return link


def _as_link(link: ShareLink | str) -> ShareLink:
    return link if isinstance(link, ShareLink) else parse_share_link(link)


def _qr(link: ShareLink | str, border: int, box_size: int = 10) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=border, box_size=box_size)
    qr.add_data(_as_link(link).url.encode("ascii"))
    qr.make(fit=True)
    return qr


def qr_matrix(link: ShareLink | str, *, border: int = 4) -> list[list[bool]]:
    """The QR code's modules (True: dark), quiet zone included."""
    return _qr(link, border).get_matrix()


def qr_png(link: ShareLink | str, *, box_size: int = 8, border: int = 4) -> bytes:
    """The link as a QR code PNG (error correction M, ``box_size`` pixels per module)."""
    img = _qr(link, border, box_size).make_image()
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def qr_svg(link: ShareLink | str, *, border: int = 4) -> bytes:
    """The link as a QR code SVG (one path on a white background, 1 unit per module)."""
    img = _qr(link, border).make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    out = io.BytesIO()
    img.save(out)
    return out.getvalue()


__all__ = [
    "MAX_LINK_LENGTH",
    "ShareLink",
    "ShareLinkError",
    "build_share_link",
    "normalise_verifier_url",
    "parse_share_link",
    "qr_matrix",
    "qr_png",
    "qr_svg",
]
