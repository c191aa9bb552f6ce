"""ledger.settings: every CERTLEDGER_* variable declared once, read once, and the generated reference."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from ledger.config import ConfigError, load_settings
from ledger.settings import MODELS, IssuerSettings, LedgerEnvironment, VerifierEnvironment, markdown
from ledger.storage.request_path import DURABILITIES

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("ledger", "issuer_api", "verifier", "certledger", "http_common")


def test_the_reference_is_generated_from_the_models():
    """docs/configuration.md is `python -m ledger.settings --markdown`: regenerate it when a model changes."""
    assert (REPO / "docs/configuration.md").read_text("utf-8") == markdown(), (
        "docs/configuration.md is stale: python -m ledger.settings --markdown > docs/configuration.md"
    )


def test_every_variable_is_declared_once_and_described():
    names = [model.env_name(field) for model in MODELS for field in model.model_fields]
    assert len(names) == len(set(names)), "a variable declared twice"
    for model in MODELS:
        for field, info in model.model_fields.items():
            assert info.description, f"{model.env_name(field)} has no description"


def test_the_code_names_no_undeclared_variable():
    """Every CERTLEDGER_* name the code mentions is a declared variable (or the verifier's prefix)."""
    declared = {model.env_name(field) for model in MODELS for field in model.model_fields}
    mentioned = set()
    for package in SOURCES:
        for file in (REPO / package).rglob("*.py"):
            mentioned |= set(re.findall(r"CERTLEDGER_[A-Z_]*[A-Z]", file.read_text("utf-8")))
    assert mentioned - declared - {"CERTLEDGER_VERIFIER"} == set()


def test_no_environment_reads_outside_the_settings():
    """os.environ is only written (handed to child processes), never read for a setting."""
    out = subprocess.run(
        ["grep", "-rn", "--include=*.py", r"os\.environ\.get\|os\.getenv\|os\.environ\[", *SOURCES],
        cwd=REPO,
        capture_output=True,
        text=True,
    ).stdout
    reads = [line for line in out.splitlines() if "os.environ[" not in line or "] =" not in line]
    assert reads == []


def test_the_durabilities_are_the_request_paths():
    assert IssuerSettings.model_fields["commit_durability"].default in DURABILITIES
    with pytest.raises(ConfigError, match="CERTLEDGER_COMMIT_DURABILITY must be one of power-loss, process-crash"):
        IssuerSettings.from_environ({"CERTLEDGER_COMMIT_DURABILITY": "never"})
    for durability in DURABILITIES:
        assert IssuerSettings.from_environ({"CERTLEDGER_COMMIT_DURABILITY": durability}).commit_durability == durability


def test_issuer_settings_from_the_environment():
    settings = IssuerSettings.from_environ(
        {"CERTLEDGER_RUN_ANCHORER": "0", "CERTLEDGER_MAX_BODY_BYTES": "1024", "CERTLEDGER_UNRELATED": "x"}
    )
    assert settings.run_anchorer is False and settings.max_body_bytes == 1024
    assert settings.to_env() == {"CERTLEDGER_RUN_ANCHORER": "0", "CERTLEDGER_MAX_BODY_BYTES": "1024"}
    assert IssuerSettings.from_environ(settings.to_env()) == settings
    assert IssuerSettings.from_environ({"CERTLEDGER_RUN_ANCHORER": ""}).run_anchorer is True  # empty: unset
    with pytest.raises(ConfigError, match="CERTLEDGER_RATE_LIMIT_BURST"):
        IssuerSettings.from_environ({"CERTLEDGER_RATE_LIMIT_BURST": "0"})


def test_the_process_environment_is_read_by_the_model(monkeypatch):
    monkeypatch.setenv("CERTLEDGER_BATCH_MAX_SIZE", "7")
    monkeypatch.setenv("CERTLEDGER_VERIFIER_ROOT_PATH", "/verify")
    assert LedgerEnvironment.from_environ().batch_max_size == 7
    assert VerifierEnvironment.from_environ().root_path == "/verify"


def _data_dir(tmp_path: Path, **config) -> Path:
    raw = {"version": 1, "chain": {"rpc_urls": [], "embedded": True}, **config}
    (tmp_path / "config.json").write_text(json.dumps(raw))
    return tmp_path


def test_the_environment_overrides_the_data_directory_file(tmp_path):
    home = _data_dir(tmp_path, database_url="sqlite:///file.db")
    plain = load_settings(home, LedgerEnvironment.from_environ({}))
    assert plain.chain.embedded and plain.chain.chain_id == 31337
    assert plain.resolved_database_url == f"sqlite:///{home / 'file.db'}"
    env = LedgerEnvironment.from_environ(
        {
            "CERTLEDGER_RPC_URLS": "http://a:8545, http://b:8545,",
            "CERTLEDGER_CHAIN_ID": "5",
            "CERTLEDGER_STATUS_BASE_URL": " https://status.example/s ",
            "CERTLEDGER_DATABASE_URL": "postgresql+psycopg://db/x",
        }
    )
    settings = load_settings(home, env)
    assert not settings.chain.embedded and settings.chain.rpc_urls == ["http://a:8545", "http://b:8545"]
    assert settings.chain.chain_id == 5 and settings.status_base_url == "https://status.example/s"
    assert settings.resolved_database_url == "postgresql+psycopg://db/x"
    assert "environment" not in json.loads(settings.to_json())
    assert load_settings(None, LedgerEnvironment.from_environ({"CERTLEDGER_HOME": str(home)})).data_dir == home


def test_configuration_errors_name_the_field_or_variable(tmp_path):
    with pytest.raises(ConfigError, match="CERTLEDGER_CHAIN_ID"):
        LedgerEnvironment.from_environ({"CERTLEDGER_CHAIN_ID": "five"})
    with pytest.raises(ConfigError, match="no configuration"):
        load_settings(tmp_path / "none", LedgerEnvironment.from_environ({}))
    home = _data_dir(tmp_path, colour="blue")
    with pytest.raises(ConfigError, match="unknown or missing setting.*colour"):
        load_settings(home, LedgerEnvironment.from_environ({}))
    (tmp_path / "config.json").write_text(json.dumps({"version": 9}))
    with pytest.raises(ConfigError, match="unsupported configuration version 9"):
        load_settings(home, LedgerEnvironment.from_environ({}))


def test_every_verifier_setting_has_its_variable():
    from dataclasses import fields

    from verifier.settings import VerifierSettings

    assert [f.name for f in fields(VerifierSettings)] == list(VerifierEnvironment.model_fields)
