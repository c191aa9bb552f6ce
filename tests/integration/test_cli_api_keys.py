"""certledger api-key create | list | revoke on a real data directory (embedded anvil, SQLite)."""

from __future__ import annotations

import re

import pytest

from certledger.cli import main
from ledger.config import load_settings
from ledger.governance.api_keys import authenticate
from ledger.storage import init_database
from tests.integration.cli_home import AGENCY, agency_home

pytestmark = pytest.mark.integration


KEY = re.compile(r"^key:\s+(clk_\S+)$", re.M)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    with agency_home(tmp_path_factory.mktemp("api-keys") / "home") as home:
        yield home


def cli(home, capsys, *args) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--data-dir", str(home), *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def engine_of(home):
    return init_database(load_settings(home).resolved_database_url)


def test_init_says_how_to_get_the_first_key(tmp_path, capsys):
    code, out = cli(tmp_path / "fresh", capsys, "init", "--port", "0")
    assert code == 0
    assert "certledger api-key create --governance --scopes governance" in out


def test_create_prints_the_key_once_and_the_key_authenticates(home, capsys):
    code, out = cli(home, capsys, "api-key", "create", "--agency", AGENCY, "--scopes", "issue,read", "--name", "ops")
    assert code == 0, out
    key = KEY.search(out).group(1)
    principal = authenticate(engine_of(home), key)
    assert principal is not None and principal.agency == AGENCY and principal.scopes == {"issue", "read"}

    code, listing = cli(home, capsys, "api-key", "list", "--agency", AGENCY)
    assert code == 0 and principal.key_id in listing and "issue,read" in listing and "live" in listing
    assert key.split("_")[2] not in listing  # the secret is never shown again

    code, out = cli(home, capsys, "api-key", "create", "--agency", AGENCY, "--scopes", "read", "--name", "ops")
    assert code == 1 and "name:" in out and principal.key_id in out  # a retried command leaves one live key

    code, out = cli(home, capsys, "api-key", "revoke", principal.key_id)
    assert code == 0 and authenticate(engine_of(home), key) is None
    code, out = cli(home, capsys, "api-key", "revoke", principal.key_id)
    assert code == 0  # again: nothing changes
    code, listing = cli(home, capsys, "api-key", "list", "--agency", AGENCY)
    assert "revoked" in listing

    code, out = cli(home, capsys, "api-key", "create", "--agency", AGENCY, "--scopes", "read", "--name", "ops")
    assert code == 0  # the name is free again once its key is revoked


def test_governance_key(home, capsys):
    code, out = cli(home, capsys, "api-key", "create", "--governance", "--scopes", "governance")
    assert code == 0, out
    principal = authenticate(engine_of(home), KEY.search(out).group(1))
    assert principal is not None and principal.agency is None and principal.scopes == {"governance"}


@pytest.mark.parametrize(
    "args,reason",
    [
        (["--agency", "no-such-agency", "--scopes", "read"], "--agency: no-such-agency is not registered"),
        (["--agency", AGENCY, "--scopes", "read,launch"], "scopes: ['launch']"),
        (["--agency", AGENCY, "--scopes", "governance"], "scopes: ['governance']"),
        (["--governance", "--scopes", "issue"], "scopes: ['issue']"),
        (["--scopes", "read"], "either --agency CODE or --governance"),
        (["--agency", AGENCY, "--governance", "--scopes", "read"], "either --agency CODE or --governance"),
    ],
)
def test_bad_requests_name_the_option(home, capsys, args, reason):
    code, out = cli(home, capsys, "api-key", "create", *args)
    assert code == 1 and reason in out and "Traceback" not in out


def test_revoking_an_unknown_key(home, capsys):
    code, out = cli(home, capsys, "api-key", "revoke", "clk_000000000000")
    assert code == 1 and "no API key clk_000000000000" in out
