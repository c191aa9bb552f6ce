"""Keeping API keys and share keys out of the issuer's access log.

Keys travel in headers, which uvicorn never logs; a careless client may still put one in the URL
(``?api_key=clk_…``, a share link pasted into a path). The access log therefore records the path
without its query string, with whatever follows a ``#``/``=`` (or their encodings) replaced by
``…`` (``verifier.logs.redact_path``), and API keys cut to their id (``clk_<id>_…``).
"""
from __future__ import annotations

import logging
import re

from verifier.logs import redact_path as _redact_share_keys

_API_KEY = re.compile(r"(clk_[0-9a-fA-F]{12})_[A-Za-z0-9_-]+")


def redact_path(path: str) -> str:
    """The request path as the issuer may log it."""
    return _API_KEY.sub(r"\1_…", _redact_share_keys(path))


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
