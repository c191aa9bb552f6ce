"""Day-two agency governance on a real anvil: key rotation, operator rotation, (de)activation, show."""

from __future__ import annotations

import json

import pytest

from certledger.cli import main
from ledger.storage import AuditEvent
from tests.integration.cli_home import AGENCY, agency_home

pytestmark = pytest.mark.integration

CODE = AGENCY
SUBJECT = {"name": "张三", "degree": "学士", "major": "数学", "institution": "浙江大学", "graduationDate": "2024-06-30"}


@pytest.fixture
def home(tmp_path):
    with agency_home(tmp_path / "home") as home:
        yield home


def cli(home, *args) -> int:
    return main(["--data-dir", str(home), *args])


def show(home, capsys) -> dict:
    capsys.readouterr()
    assert cli(home, "agency", "show", CODE, "--json") == 0
    return json.loads(capsys.readouterr().out)


def issue(home, tmp_path, name: str):
    subject = tmp_path / "subject.json"
    subject.write_text(json.dumps(SUBJECT, ensure_ascii=False))
    bundle = tmp_path / f"{name}.json"
    assert cli(home, "issue", "--type", "DegreeCertificate", "--subject", str(subject), "--out", str(bundle)) == 0
    return bundle


def test_key_rotation_keeps_old_credentials_valid(home, tmp_path, capsys):
    before = show(home, capsys)
    assert before["active"] and before["types"] == ["DegreeCertificate"] and len(before["operators"]) == 1
    [old_key] = before["keys"]
    old_bundle = issue(home, tmp_path, "old")

    assert cli(home, "agency", "key", "rotate", CODE) == 0
    after = show(home, capsys)
    keys = {k["public_key"]: k for k in after["keys"]}
    assert len(keys) == 2 and keys[old_key["public_key"]]["revoked_at"] == 0
    [new_key] = [k for k in keys if k != old_key["public_key"]]
    assert keys[new_key]["valid_from"] > 0

    new_bundle = issue(home, tmp_path, "new")
    signed_with = json.loads(new_bundle.read_text())["credential"]["proof"]["verificationMethod"]
    old_signed_with = json.loads(old_bundle.read_text())["credential"]["proof"]["verificationMethod"]
    assert signed_with != old_signed_with
    assert cli(home, "verify", str(old_bundle), str(new_bundle)) == 0

    # a retried rotation finishing a cut-short one registers no second new key
    key_dir = home / "keys" / "agencies" / CODE
    (key_dir / "signing.json").rename(key_dir / "signing-next.json")
    assert cli(home, "agency", "key", "rotate", CODE) == 0
    assert len(show(home, capsys)["keys"]) == 2


def test_operator_rotation_and_activation(home, tmp_path, capsys):
    [old_operator] = show(home, capsys)["operators"]
    assert cli(home, "agency", "operator", "add", CODE) == 0
    out = capsys.readouterr().out
    state = show(home, capsys)
    [new_operator] = [a for a in state["operators"] if a != old_operator]
    assert f"new operator: {new_operator}" in out and "fund it" in out
    assert cli(home, "agency", "operator", "remove", old_operator) == 0
    assert show(home, capsys)["operators"] == [new_operator]
    assert cli(home, "agency", "operator", "remove", old_operator) == 0  # retried: nothing sent
    bundle = issue(home, tmp_path, "after-operator-rotation")  # anchored from the new account
    assert cli(home, "verify", str(bundle)) == 0

    assert cli(home, "agency", "deactivate", CODE) == 0
    assert show(home, capsys)["active"] is False
    assert cli(home, "agency", "deactivate", CODE) == 0
    assert "already: deactivate" in capsys.readouterr().out
    assert cli(home, "agency", "reactivate", CODE) == 0
    assert show(home, capsys)["active"] is True

    assert cli(home, "agency", "operator", "add", CODE, "not-an-address") != 0
    assert "ADDRESS" in capsys.readouterr().err

    from sqlmodel import Session, select

    from certledger.cli.context import App

    with Session(App(home).engine) as session:
        actions = [e.action for e in session.exec(select(AuditEvent)).all()]
    assert actions.count("operator-add") == 1 and actions.count("operator-remove") == 1
    assert actions.count("deactivate") == 1 and actions.count("reactivate") == 1
