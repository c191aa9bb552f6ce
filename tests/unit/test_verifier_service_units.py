"""Pure parts of the verifier service: settings from the environment, log redaction, the nesting
guard, batch splitting and problem details."""

from __future__ import annotations

import json

import pytest

from http_common.access_log import RedactAccessLog
from http_common.access_log import redact_share_keys as redact_path
from ledger.protocol.deployment import Deployment
from verifier.problems import Problem
from verifier.service import MAX_DEPTH, VerifierService, too_deep
from verifier.settings import SettingsError, VerifierSettings, settings_from_env

CID = "bafkreihx5t5lwj2qgftltakv2j2mgjkv5oquotfju4wxkxjyjl3uzyqshq"
KEY = "X79SLIBzx2gqm7TK1U9qUcBbaqg9bqbIk3pwvzEuSno"


def full_settings(**kw) -> VerifierSettings:
    base = VerifierSettings(
        trust_roots=(Deployment.trust_root(31337, "0x" + "ab" * 20, "0x" + "cd" * 20, "x", 7),),
        rpc_urls={31337: ("http://127.0.0.1:8545", "http://127.0.0.1:8546")},
        content_dir="/tmp/content",
        database_url="sqlite:////tmp/v.db",
    )
    return VerifierSettings(**{**base.__dict__, **kw}).check()


def test_settings_round_trip_through_the_environment():
    settings = full_settings(
        cors_origins=("https://a.example", "https://b.example"),
        confirmations=3,
        poll_interval_s=0.75,
        root_path="/verify",
    )
    assert settings_from_env(settings.to_env()) == settings


def test_environment_overrides_and_clear_errors():
    settings = full_settings()
    changed = settings.with_environment(
        {"CERTLEDGER_VERIFIER_MAX_BODY_BYTES": "2048", "CERTLEDGER_VERIFIER_IPFS_API": "http://127.0.0.1:5001"}
    )
    assert changed.max_body_bytes == 2048 and changed.ipfs_api == "http://127.0.0.1:5001"
    for env, fragment in (
        ({"CERTLEDGER_VERIFIER_TRUST_ROOTS": "{}"}, "JSON list"),
        (
            {"CERTLEDGER_VERIFIER_TRUST_ROOTS": '[{"chainId": 1, "registry": "0x12", "ledger": "0x34"}]'},
            "20-byte address",
        ),
        ({"CERTLEDGER_VERIFIER_RPC_URLS": "[]"}, "JSON object"),
        ({"CERTLEDGER_VERIFIER_MAX_BODY_BYTES": "lots"}, "MAX_BODY_BYTES"),
    ):
        with pytest.raises(SettingsError, match=fragment):
            settings.with_environment(env).check()
    with pytest.raises(SettingsError, match="no trust roots"):
        VerifierSettings().check()
    with pytest.raises(SettingsError, match="no RPC URL"):
        VerifierSettings(trust_roots=settings.trust_roots, content_dir="/x").check()


@pytest.mark.parametrize(
    "path,logged",
    [
        (f"/s/{CID}", f"/s/{CID}"),
        (f"/s/{CID}%23k={KEY}", f"/s/{CID}…"),
        (f"/s/{CID}?k={KEY}", f"/s/{CID}?…"),
        (f"/content/{CID}/%23k%3D{KEY}", f"/content/{CID}…"),
        (f"/verify/s/{CID}#k={KEY}", f"/verify/s/{CID}…"),
        (f"/anything?k={KEY}", "/anything?…"),
        (f"/x%23k%3D{KEY}", "/x…"),
        ("/static/app.js", "/static/app.js"),
    ],
)
def test_access_log_paths_are_redacted(path, logged):
    assert redact_path(path) == logged
    assert KEY not in redact_path(path)


def test_the_access_log_filter_rewrites_uvicorns_record():
    import logging

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "GET", f"/s/{CID}%23k={KEY}", "1.1", 400),
        None,
    )
    assert RedactAccessLog().filter(record)
    assert KEY not in record.getMessage() and f"/s/{CID}…" in record.getMessage()


def test_nesting_guard():
    assert not too_deep(b'{"a": [1, 2, {"b": []}]}')
    assert too_deep(b"[" * (MAX_DEPTH + 1))
    assert not too_deep(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)
    assert not too_deep('{"s": "' + "[" * 5000 + '"}')  # brackets in strings do not count
    assert not too_deep('{"s": "\\"' + "[" * 5000 + '"}')  # nor after an escaped quote
    assert too_deep("[" * 2000 + '"x"' + "]" * 2000)
    assert too_deep("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert not too_deep(("[" + "{}," * 2000 + "{}]").encode())  # many brackets, shallow


def split(body: bytes, **kw) -> list[str]:
    return VerifierService(None, None, **kw).split_batch(body)


def test_batch_split_keeps_each_element_as_sent():
    body = b'[ {"a": 1, "a": 2} ,\n{"b": "],[{"}, 3.0e0 , "x" ]'
    assert split(body) == ['{"a": 1, "a": 2}', '{"b": "],[{"}', "3.0e0", '"x"']
    assert split(b"[]") == [] and split(b" [ ] ") == []


@pytest.mark.parametrize(
    "body,status,code",
    [
        (b"", 400, "EMPTY_BODY"),
        (b"{}", 422, "NOT_AN_ARRAY"),
        (b'"x"', 422, "NOT_AN_ARRAY"),
        (b"[1,]", 400, "NOT_JSON"),
        (b"[1 2]", 400, "NOT_JSON"),
        (b"[1] [2]", 400, "NOT_JSON"),
        (b"\xff[]", 400, "NOT_JSON"),
        ("\ufeff[]".encode(), 400, "NOT_JSON"),
        (b"[" * 200_000, 400, "NOT_JSON"),
        (b"[" + b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1) + b"]", 400, "NOT_JSON"),
        (b"[1,1,1,1]", 413, "BATCH_TOO_LARGE"),
    ],
)
def test_batch_split_refusals(body, status, code):
    with pytest.raises(Problem) as caught:
        split(body, max_batch_items=3)
    assert (caught.value.status, caught.value.code) == (status, code)
    problem = caught.value.to_json()
    assert problem["type"] == f"urn:certledger:problem:{code.lower().replace('_', '-')}" and problem["detail"]
    json.dumps(problem)
