"""`certledger verify` of many bundles on a real anvil: files, a directory, bundles.jsonl, standard
input, share links opened against a running verifier service; the exit status, the summary and
--json lines of a mix of valid, revoked and unreadable inputs; the process pool."""

from __future__ import annotations

import io
import json
import sys

import pytest

from certledger.cli import main
from certledger.cli.context import App
from ledger.content.links import ShareLink, parse_share_link
from ledger.protocol.deployment import Deployment
from ledger.verification import many
from tests.integration.cli_home import agency_home
from tests.integration.verifier_server import start_verifier
from verifier.settings import VerifierSettings

pytestmark = pytest.mark.integration

ROWS = 24


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A data directory with a chain, a deployment, an agency and one upload of ROWS bundles."""
    tmp = tmp_path_factory.mktemp("verify-many")
    home = tmp / "home"
    rows = tmp / "rows.jsonl"
    rows.write_text(
        "\n".join(
            json.dumps(
                {
                    "name": f"学生{i}",
                    "degree": "学士",
                    "major": "数学",
                    "institution": "浙江大学",
                    "graduationDate": "2024-06-30",
                },
                ensure_ascii=False,
            )
            for i in range(ROWS)
        )
    )
    upload = ["issue-bulk", "--type", "DegreeCertificate", "--jsonl", str(rows), "--out-dir", str(tmp / "upload")]
    with agency_home(home, upload):
        yield home


@pytest.fixture
def upload(home):
    return home.parent / "upload" / "bundles.jsonl"


def cli(home, *args) -> int:
    return main(["--data-dir", str(home), *args])


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in without_access_log(text).splitlines() if line.strip()]


def without_access_log(text: str) -> str:
    """The verifier under test runs in this process: its uvicorn log shares standard output."""
    return "\n".join(line for line in text.splitlines() if not line.startswith("INFO:"))


def test_a_jsonl_and_a_directory(home, upload, tmp_path, capsys):
    assert cli(home, "verify", str(upload)) == 0
    out = capsys.readouterr().out
    assert f"{ROWS} verified" in out and "VALID" in out

    assert cli(home, "verify", "--json", str(upload)) == 0
    reports = json_lines(capsys.readouterr().out)
    assert [r["source"] for r in reports] == [f"{upload}:{n}" for n in range(1, ROWS + 1)]
    assert {r["verdict"] for r in reports} == {"VALID"} and all(len(r["checks"]) == 6 for r in reports)

    lines = upload.read_bytes().splitlines()
    folder = tmp_path / "folder"
    folder.mkdir()
    for n in range(3):
        (folder / f"{n}.json").write_bytes(lines[n])
    (folder / "notes.txt").write_text("not a bundle, not read")
    assert cli(home, "verify", "--json", str(folder)) == 0
    assert [r["source"] for r in json_lines(capsys.readouterr().out)] == [str(folder / f"{n}.json") for n in range(3)]

    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli(home, "verify", str(empty)) == 2
    assert f"no *.json bundles in the directory {empty}" in capsys.readouterr().out


def test_a_mix_of_valid_revoked_and_garbage(home, upload, tmp_path, capsys):
    lines = upload.read_bytes().splitlines()
    valid, revoked, garbage = tmp_path / "valid.json", tmp_path / "revoked.json", tmp_path / "garbage.json"
    valid.write_bytes(lines[0])
    revoked.write_bytes(lines[-1])  # the other tests use the first lines: they stay valid
    garbage.write_text("this is not JSON")
    assert cli(home, "revoke", str(revoked), "--reason", "issued-in-error") == 0
    capsys.readouterr()

    assert cli(home, "verify", str(valid), str(revoked)) == 1  # any invalid, none undecided
    out = capsys.readouterr().out
    assert f"{revoked}: INVALID REVOKED" in out and str(valid) + ":" not in out  # only the failures are listed

    missing = tmp_path / "missing.json"
    assert cli(home, "verify", "--json", str(valid), str(revoked), str(garbage), str(missing)) == 2
    captured = capsys.readouterr()
    reports = {r["source"]: r for r in json_lines(captured.out)}
    assert reports[str(valid)]["verdict"] == "VALID"
    assert reports[str(revoked)]["verdict"] == "INVALID"
    assert [c["code"] for c in reports[str(revoked)]["checks"]][4] == "REVOKED"
    assert reports[str(garbage)] == {
        "source": str(garbage),
        "verdict": "ERROR",
        "error": {"code": "NOT_JSON", "message": reports[str(garbage)]["error"]["message"]},
    }
    assert reports[str(missing)]["error"]["code"] == "UNREADABLE"
    assert "No such file" in reports[str(missing)]["error"]["message"]
    # the summary goes to standard error with --json: standard output stays JSON Lines
    summary = captured.err
    assert "4 verified" in summary
    for row in (("VALID", "1"), ("INVALID", "1"), ("status", "REVOKED", "1"), ("ERROR", "2")):
        assert any(all(cell in line for cell in row) for line in summary.splitlines()), row
    assert any("input" in line and "NOT_JSON" in line and "1" in line for line in summary.splitlines())

    # a bundles.jsonl with a line that is not JSON: named by its line, could not decide
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(b"\n".join([lines[2], b"{not json", lines[3]]) + b"\n")
    assert cli(home, "verify", str(broken)) == 2
    out = capsys.readouterr().out
    assert f"{broken}:2: ERROR NOT_JSON" in out and f"{broken}:1" not in out


def test_standard_input(home, upload, monkeypatch, capsys):
    lines = upload.read_bytes().splitlines()

    def stdin(data: bytes):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))

    stdin(lines[5])  # one bundle: the one report, as before
    assert cli(home, "verify", "--json", "-") == 0
    single = json.loads(capsys.readouterr().out)
    assert single["verdict"] == "VALID" and "source" not in single

    stdin(b"\n".join(lines[10:14]) + b"\n")
    assert cli(home, "verify", "--json", "-") == 0
    assert [r["source"] for r in json_lines(capsys.readouterr().out)] == ["-:1", "-:2", "-:3", "-:4"]


def test_share_links_against_a_running_verifier(home, upload, tmp_path, capsys):
    app = App(home)
    d = app.deployment()
    settings = VerifierSettings(
        trust_roots=(Deployment.trust_root(d.chain_id, d.registry, d.ledger, "test", d.block),),
        rpc_urls={d.chain_id: tuple(app.rpc_urls())},
        database_url=f"sqlite:///{tmp_path / 'index.db'}",
        content_dir=str(home / "content"),
        poll_interval_s=0.25,
        batch_processes=1,
    ).check()
    running = start_verifier(settings)
    try:
        bundle = tmp_path / "shared.json"
        bundle.write_bytes(upload.read_bytes().splitlines()[7])
        capsys.readouterr()
        assert cli(home, "share", str(bundle), "--verifier-url", running.url) == 0
        link = parse_share_link(capsys.readouterr().out.splitlines()[0])

        assert cli(home, "verify", "--json", link.url) == 0
        report = json.loads(without_access_log(capsys.readouterr().out))
        assert report["verdict"] == "VALID"
        assert report["credential"]["id"] == json.loads(bundle.read_bytes())["credential"]["id"]

        wrong = ShareLink(link.verifier_url, link.cid, bytes(32)).url
        assert cli(home, "verify", wrong) == 2  # opened nothing: could not decide
        err = capsys.readouterr().err
        assert "could not be decrypted" in err and wrong.split("#k=")[1] not in err

        assert cli(home, "verify", "--json", link.url, wrong, str(bundle)) == 2
        captured = capsys.readouterr()
        reports = json_lines(captured.out)
        assert [r["verdict"] for r in reports] == ["VALID", "ERROR", "VALID"]
        assert reports[1]["error"]["code"] == "SHARE_LINK" and reports[1]["source"].endswith("#k=<redacted>")
        assert link.url.split("#k=")[1] not in captured.out + captured.err  # the key never printed
    finally:
        running.stop()


def test_the_process_pool(home, upload, tmp_path, monkeypatch, capsys):
    """Over worker processes, the same reports in the same order as in one process."""
    part = tmp_path / "part.jsonl"
    part.write_bytes(b"\n".join(upload.read_bytes().splitlines()[:12]))
    assert cli(home, "verify", "--json", "--processes", "1", str(part)) == 0
    here = json_lines(capsys.readouterr().out)
    monkeypatch.setattr(many, "POOL_MIN_ITEMS", 2)
    started = []
    real = many.VerifyPool.__init__

    def counting(self, *args, **kw):
        started.append(args)
        real(self, *args, **kw)

    monkeypatch.setattr(many.VerifyPool, "__init__", counting)
    assert cli(home, "verify", "--json", "--processes", "2", str(part)) == 0
    pooled = json_lines(capsys.readouterr().out)
    assert len(started) == 1  # the pool did the work
    strip = [{k: v for k, v in r.items() if k != "checks"} for r in pooled]
    assert strip == [{k: v for k, v in r.items() if k != "checks"} for r in here]
    assert [[c["code"] for c in r["checks"]] for r in pooled] == [[c["code"] for c in r["checks"]] for r in here]
