"""The main job end to end through the CLI, on a real anvil: demo, verify, agency register."""

from __future__ import annotations

import json

import pytest

from certledger.cli import main
from ledger.content.links import parse_share_link
from ledger.content.local_store import LocalContentStore
from ledger.content.share import decrypt_share
from ledger.protocol.status_list import check_list_credential, parse_status_entry

pytestmark = pytest.mark.integration


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    assert main(["--data-dir", str(home), "init", "--port", "0"]) == 0
    yield home
    main(["--data-dir", str(home), "chain", "down"])


def cli(home, *args) -> int:
    return main(["--data-dir", str(home), *args])


def test_demo_issues_anchors_and_every_verdict_is_as_expected(home, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli(home, "demo", "--count", "30", "--out", str(out)) == 0
    printed = capsys.readouterr().out
    assert "as expected" in printed and "VALID 28" in printed
    link = parse_share_link(next(line.split()[-1] for line in printed.splitlines() if line.startswith("share link:")))
    assert (out / "share-qr.png").read_bytes().startswith(b"\x89PNG")
    blob = LocalContentStore(home / "content").get(link.cid)  # what the verifier page will fetch
    assert json.loads(decrypt_share(blob, link.key))["type"] == "CertLedgerBundle"

    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == {"rpcUrl", "chainId", "ledger", "registry", "statusLists", "bundles"}
    assert summary["chainId"] == 31337 and summary["ledger"].startswith("eip155:31337:0x")
    expected = [b["expected"] for b in summary["bundles"]]
    assert len(expected) == 30
    assert sorted(set(expected)) == ["REVOKED", "SUSPENDED", "VALID"]
    assert expected.count("REVOKED") == 1 and expected.count("SUSPENDED") == 1

    # the exported W3C status lists: each bundle's entries name a list file under statusLists.dir whose
    # bit for the credential follows its state (revoked: the revocation bit; suspended: the suspension bit)
    base = summary["statusLists"]["baseUrl"].rstrip("/") + "/"
    lists_dir = out / summary["statusLists"]["dir"]
    bits_seen = {"VALID": [], "REVOKED": [], "SUSPENDED": []}
    sampled = {
        b["file"]: b for b in summary["bundles"][:3] + [b for b in summary["bundles"] if b["expected"] != "VALID"]
    }
    for entry in sampled.values():
        credential = json.loads((out / entry["file"]).read_text())["credential"]
        assert [e["statusPurpose"] for e in credential["credentialStatus"]] == ["revocation", "suspension"]
        bits = {}
        for raw in credential["credentialStatus"]:
            status_entry = parse_status_entry(raw)
            assert status_entry.list_url.startswith(base)
            document = json.loads((lists_dir / status_entry.list_url[len(base) :]).read_text())
            view = check_list_credential(document, url=status_entry.list_url, purpose=status_entry.purpose)
            assert view.issuer == credential["issuer"]
            bits[status_entry.purpose] = view.is_set(status_entry.index)
        bits_seen[entry["expected"]].append((bits["revocation"], bits["suspension"]))
    assert set(bits_seen["VALID"]) == {(False, False)}
    assert bits_seen["REVOKED"] == [(True, False)] and bits_seen["SUSPENDED"] == [(False, True)]

    # an independent check of the demo's output through the public CLI: exit codes follow the verdicts
    codes = {"VALID": 0, "REVOKED": 1, "SUSPENDED": 1}
    for entry in summary["bundles"][:3] + [b for b in summary["bundles"] if b["expected"] != "VALID"]:
        assert cli(home, "verify", "--json", str(out / entry["file"])) == codes[entry["expected"]]
        report = json.loads(capsys.readouterr().out)
        if entry["expected"] != "VALID":
            assert report["checks"][4]["code"] == entry["expected"]

    # run again: same chain and contracts, agencies kept, a fresh set of credentials
    assert cli(home, "demo", "--count", "10", "--out", str(out)) == 0
    again = json.loads((out / "summary.json").read_text())
    assert again["ledger"] == summary["ledger"] and len(again["bundles"]) == 10


def test_agency_register_is_retry_safe(home, capsys):
    assert cli(home, "chain", "up") == 0
    assert cli(home, "deploy") == 0
    args = [
        "agency",
        "register",
        "zj-hz-health",
        "--name",
        "杭州市卫健委",
        "--types",
        "ApprovalDecision,ResidenceCertificate",
    ]
    assert cli(home, *args) == 0
    first = capsys.readouterr().out
    assert first.count("done:") == 5  # agency, operator, key, two types
    assert cli(home, *args) == 0
    again = capsys.readouterr().out
    assert again.count("already:") == 6 and "done:" not in again  # agency, its name, operator, key, two types
    from certledger.cli.context import App
    from ledger.protocol.identifiers import agency_id

    info = App(home).registry().agency_info(agency_id("zj-hz-health"))
    assert (info.code, info.name, info.active) == ("zj-hz-health", "杭州市卫健委", True)
    # a retry with another display name renames the agency on chain, and nothing else
    renamed = ["agency", "register", "zj-hz-health", "--name", "杭州市卫生健康委员会", "--types", "ApprovalDecision"]
    assert cli(home, *renamed) == 0
    out = capsys.readouterr().out
    assert out.count("done:") == 1 and "done:    name of zj-hz-health" in out
    assert App(home).registry().agency_info(agency_id("zj-hz-health")).name == "杭州市卫生健康委员会"
    assert cli(home, "agency", "register", "Bad_Code", "--name", "x", "--types", "ApprovalDecision") == 1
    assert "agency code" in capsys.readouterr().err
    # the keys are encrypted at rest: the secret appears in no encoding, and the file is owner-only
    import base64

    from ledger.governance.key_files import load_signing_key

    key_file = home / "keys" / "agencies" / "zj-hz-health" / "signing.json"
    assert key_file.stat().st_mode & 0o077 == 0
    seed = load_signing_key(key_file, App(home).passphrase()).seed_bytes()
    text = key_file.read_text()
    for encoded in (seed.hex(), base64.b64encode(seed).decode(), base64.urlsafe_b64encode(seed).decode().rstrip("=")):
        assert encoded not in text
