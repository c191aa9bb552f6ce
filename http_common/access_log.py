"""Keeping share keys and API keys out of uvicorn's access log (both services).

A share key lives in the link's fragment (``/s/<cid>#k=…``), which browsers and HTTP clients never
send, and API keys travel in headers, which uvicorn never logs. A careless client may still put
either in the URL: an encoded ``%23k=…`` after the CID, a query string, ``?api_key=clk_…``. So the
access log records the path without its query string, for ``/s/`` and ``/content/`` paths only the
CID, elsewhere nothing after a ``#``/``=`` (or their encodings), and API keys cut to their id.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

_CID_PATH = re.compile(r"^(.*?/(?:s|content)/)([a-z2-7]{0,100})(.*)$", re.DOTALL)
_SUSPECT = re.compile(r"(%23|#|%3[dD]|=)")
_API_KEY = re.compile(r"(clk_[0-9a-fA-F]{12})_[A-Za-z0-9_-]+")


def redact_share_keys(path: str) -> str:
    """The request path without anything that may hold a share key."""
    base, question, _query = path.partition("?")
    match = _CID_PATH.match(base)
    if match and match.group(3):
        base = match.group(1) + match.group(2) + "…"
    else:
        cut = _SUSPECT.search(base)
        if cut:
            base = base[: cut.start()] + "…"
    return base + ("?…" if question else "")


def redact_keys(path: str) -> str:
    """The request path without share keys or API key secrets (``clk_<id>_…``)."""
    return _API_KEY.sub(r"\1_…", redact_share_keys(path))


class RedactAccessLog(logging.Filter):
    """For ``uvicorn.access``: its records' args are (client, method, path, http version, status)."""

    def __init__(self, redact: Callable[[str], str] = redact_keys) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = args[:2] + (self.redact(args[2]),) + args[3:]
        return True


def install_access_log_redaction() -> None:
    """Once per process, whichever service asks first (redacting every kind of key is right for both)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactAccessLog) for f in access.filters):
        access.addFilter(RedactAccessLog())


__all__ = ["RedactAccessLog", "install_access_log_redaction", "redact_keys", "redact_share_keys"]
