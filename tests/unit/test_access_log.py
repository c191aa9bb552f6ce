"""http_common.access_log: what the services' access logs may record of a request path."""

from __future__ import annotations

import logging

from http_common.access_log import RedactAccessLog, install_access_log_redaction, redact_keys

SECRET = "Yh1i3m9N0pQ2rS4tU6vW8xY0zA1bC3dE5fG7hI9jK1l"


def test_api_key_secrets_are_cut_to_the_key_id():
    assert redact_keys(f"/credentials/clk_0123456789ab_{SECRET}") == "/credentials/clk_0123456789ab_…"
    assert redact_keys(f"/credentials?api_key=clk_0123456789ab_{SECRET}") == "/credentials?…"
    assert redact_keys(f"/x=clk_0123456789ab_{SECRET}") == "/x…"


def test_share_keys_and_plain_paths():
    cid = "bafkreihx5t5lwj2qgftltakv2j2mgjkv5oquotfju4wxkxjyjl3uzyqshq"
    assert redact_keys(f"/s/{cid}%23k={SECRET}") == f"/s/{cid}…"
    assert redact_keys(f"/content/{cid}") == f"/content/{cid}"
    assert redact_keys("/credentials/abc/bundle") == "/credentials/abc/bundle"


def test_the_filter_is_installed_once_and_rewrites_records():
    access = logging.getLogger("uvicorn.access")
    before = list(access.filters)
    try:
        install_access_log_redaction()
        install_access_log_redaction()
        assert sum(isinstance(f, RedactAccessLog) for f in access.filters) == 1
        record = logging.LogRecord(
            "uvicorn.access",
            logging.INFO,
            __file__,
            1,
            '%s - "%s %s HTTP/%s" %d',
            ("127.0.0.1:1", "GET", f"/a?k=clk_0123456789ab_{SECRET}", "1.1", 200),
            None,
        )
        assert access.filter(record)
        assert SECRET not in record.getMessage()
    finally:
        access.filters[:] = before
