"""Keeping share keys out of the logs.

A share key lives in the link's fragment (``/s/<cid>#k=…``), which browsers and HTTP clients never
send, so it never reaches the server. A careless client may still send it: an encoded ``%23k=…``
after the CID, or a query string. The access log therefore records, for every request, the path
without its query string, and for ``/s/`` and ``/content/`` paths only the CID — whatever follows it
is replaced by ``…``.
"""
from __future__ import annotations

import logging
import re

_CID_PATH = re.compile(r"^(.*?/(?:s|content)/)([a-z2-7]{0,100})(.*)$", re.DOTALL)
_SUSPECT = re.compile(r"(%23|#|%3[dD]|=)")


def redact_path(path: str) -> str:
    """The request path as it may be logged."""
    base, question, _query = path.partition("?")
    match = _CID_PATH.match(base)
    if match and match.group(3):
        base = match.group(1) + match.group(2) + "…"
    else:
        cut = _SUSPECT.search(base)
        if cut:
            base = base[:cut.start()] + "…"
    return base + ("?…" if question else "")


class RedactAccessLog(logging.Filter):
    """For ``uvicorn.access``: its records' args are (client, method, path, http version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = args[:2] + (redact_path(args[2]),) + args[3:]
        return True


_installed = False


def install_access_log_redaction() -> None:
    global _installed
    if not _installed:
        logging.getLogger("uvicorn.access").addFilter(RedactAccessLog())
        _installed = True


__all__ = ["redact_path", "RedactAccessLog", "install_access_log_redaction"]
