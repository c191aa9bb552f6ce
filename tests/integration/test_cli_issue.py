"""The agency's command line on a real anvil: type add, issue, issue-bulk, share, revoke, verify."""

from __future__ import annotations

import json

import pytest

from certledger.cli import main
from ledger.content.links import parse_share_link
from tests.integration.cli_home import agency_home

pytestmark = pytest.mark.integration


@pytest.fixture
def home(tmp_path):
    with agency_home(tmp_path / "home") as home:
        yield home


def cli(home, *args) -> int:
    return main(["--data-dir", str(home), *args])


def test_issue_share_revoke_verify(home, tmp_path, capsys):
    subject = tmp_path / "subject.json"
    subject.write_text(
        json.dumps(
            {
                "name": "张三",
                "degree": "学士",
                "major": "数学",
                "institution": "浙江大学",
                "graduationDate": "2024-06-30",
            },
            ensure_ascii=False,
        )
    )
    bundle = tmp_path / "bundle.json"
    assert cli(home, "issue", "--type", "DegreeCertificate", "--subject", str(subject), "--out", str(bundle)) == 0
    assert cli(home, "verify", str(bundle)) == 0

    capsys.readouterr()
    png, svg = tmp_path / "qr.png", tmp_path / "qr.svg"
    assert cli(home, "share", str(bundle), "--png", str(png), "--svg", str(svg)) == 0
    link = parse_share_link(capsys.readouterr().out.splitlines()[0])
    assert link.url.startswith("http://127.0.0.1:8080/s/bafk")
    assert png.read_bytes().startswith(b"\x89PNG") and b"<svg" in svg.read_bytes()

    assert cli(home, "suspend", str(bundle), "--reason", "administrative") == 0
    assert cli(home, "verify", str(bundle)) == 1
    assert cli(home, "reinstate", str(bundle)) == 0
    assert cli(home, "verify", str(bundle)) == 0
    assert cli(home, "revoke", str(bundle), "--reason", "issued-in-error") == 0
    assert cli(home, "verify", "--json", str(bundle)) == 1
    assert "REVOKED" in capsys.readouterr().out


def test_issue_rejects_a_subject_that_breaks_the_schema(home, tmp_path, capsys):
    subject = tmp_path / "subject.json"
    subject.write_text(json.dumps({"name": "张三", "graduationDate": "soon"}))
    assert (
        cli(home, "issue", "--type", "DegreeCertificate", "--subject", str(subject), "--out", str(tmp_path / "b.json"))
        == 1
    )
    err = capsys.readouterr().err
    assert "graduationDate" in err and "degree" in err


def test_issue_bulk_with_a_bad_row(home, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CERTLEDGER_BATCH_MAX_SIZE", "10")  # the services' batch size: the upload is still one
    rows = tmp_path / "rows.csv"
    lines = ["name,degree,major,institution,graduationDate"]
    lines += [f"学生{i},学士,数学,浙江大学,2024-06-30" for i in range(40)]
    lines.insert(5, "坏行,学士,数学,浙江大学,June")
    rows.write_text("\n".join(lines) + "\n")
    out = tmp_path / "upload"

    def issue_bulk(out_dir, *options) -> int:
        return cli(
            home, "issue-bulk", "--type", "DegreeCertificate", "--csv", str(rows), "--out-dir", str(out_dir), *options
        )

    assert issue_bulk(out, "--verifier-url", "https://verify.example.gov.cn") == 1
    printed = capsys.readouterr().out
    assert "issued 40, refused 1 rows" in printed and "row 6" in printed
    bundles = (out / "bundles.jsonl").read_bytes().splitlines()
    assert len(bundles) == 40
    assert len({json.loads(b)["anchor"]["txHash"] for b in bundles}) == 1  # one batch, one anchor transaction
    links = (out / "links.csv").read_text("utf-8").splitlines()
    assert links[0] == "row,credentialId,link" and len(links) == 41
    row, credential_id, link = links[1].split(",")
    assert int(row) == 2 and json.loads(bundles[0])["credential"]["id"] == credential_id
    assert parse_share_link(link).url.startswith("https://verify.example.gov.cn/s/bafk")
    assert "6" not in {line.split(",")[0] for line in links}  # the bad row got nothing
    for n, text in ((1, bundles[0]), (40, bundles[-1])):
        (tmp_path / f"b{n}.json").write_bytes(text)
        assert cli(home, "verify", str(tmp_path / f"b{n}.json")) == 0

    # An earlier upload's output is never overwritten: refused before anything is issued.
    assert issue_bulk(out) == 1
    assert "earlier upload" in capsys.readouterr().err
    assert issue_bulk(tmp_path / "x", "--all-or-nothing") == 1
    assert "nothing issued" in capsys.readouterr().err
    assert issue_bulk(tmp_path / "y", "--verifier-url", "ftp://verify.example") == 1
    assert "--verifier-url" in capsys.readouterr().err
    assert list((tmp_path / "x").iterdir()) == [] and not (tmp_path / "y").exists()


def test_issue_bulk_one_file_per_bundle(home, tmp_path):
    rows = tmp_path / "rows.jsonl"
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
            for i in range(5)
        )
    )
    out = tmp_path / "files"
    assert (
        cli(home, "issue-bulk", "--type", "DegreeCertificate", "--jsonl", str(rows), "--out-dir", str(out), "--files")
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == [f"{n:06d}.json" for n in range(1, 6)] + ["links.csv"]
    assert cli(home, "verify", str(out / "000003.json")) == 0
    assert cli(home, "revoke", str(out / "000003.json"), "--reason", "issued-in-error") == 0
    assert cli(home, "verify", str(out / "000003.json")) == 1
