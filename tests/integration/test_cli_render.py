"""`certledger type add --template` and `certledger render` on a real anvil: the certificate laid out by
the layout registered with its type, as a table (sensitive fields masked unless --reveal), as JSON
(times in UTC) and as an A4 PDF whose QR code carries the share link."""

from __future__ import annotations

import json
import subprocess

import pytest

from certledger.cli import main
from ledger.protocol.credential_types import BUILTIN_TYPES
from tests.integration.cli_home import agency_home

pytestmark = pytest.mark.integration

ID_NUMBER = "330106196001011960"
LAYOUT = {
    "title": {"en": "Diploma", "zh": "毕业证书"},
    "sections": [
        {
            "fields": [
                {"label": {"en": "Graduate", "zh": "毕业生"}, "path": "/name"},
                {"label": {"en": "Identity card", "zh": "身份证"}, "path": "/idNumber"},
                {"label": {"en": "Graduated", "zh": "毕业于"}, "path": "/graduationDate", "format": "date"},
            ]
        }
    ],
}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    with agency_home(tmp_path_factory.mktemp("render") / "home") as home:
        yield home


def cli(home, *args) -> int:
    return main(["--data-dir", str(home), *args])


def test_type_add_template_then_render_table_json_and_pdf(home, tmp_path, capsys):
    schema, template = tmp_path / "schema.json", tmp_path / "layout.json"
    schema.write_text(json.dumps(BUILTIN_TYPES["DegreeCertificate"].schema))  # idNumber is x-sensitive there
    broken = {**LAYOUT, "sections": [{"fields": [{"label": {"en": "x"}, "path": "name"}]}]}
    template.write_text(json.dumps(broken))
    assert cli(home, "type", "add", "DegreeCertificate", "--schema", str(schema), "--template", str(template)) == 1
    assert "template.sections[0].fields[0].path: must be a JSON pointer" in capsys.readouterr().err
    template.write_text(json.dumps(LAYOUT, ensure_ascii=False))
    assert cli(home, "type", "add", "DegreeCertificate", "--schema", str(schema), "--template", str(template)) == 0

    subject = tmp_path / "subject.json"
    subject.write_text(
        json.dumps(
            {
                "name": "张三 <b>Zhang</b>",
                "idNumber": ID_NUMBER,
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
    signed = json.loads(bundle.read_text())["credential"]
    template_signed = signed["renderMethod"][0]["template"]
    assert template_signed["title"] == LAYOUT["title"]
    assert template_signed["sections"][0]["fields"][1]["sensitive"] is True  # from the schema's x-sensitive

    capsys.readouterr()
    assert cli(home, "render", str(bundle), "--lang", "zh") == 0
    out = capsys.readouterr().out
    assert "毕业证书" in out and "张三 <b>Zhang</b>" in out and "2024年6月30日" in out
    assert "330106********1960" in out and ID_NUMBER not in out
    assert "verdict: VALID" in out
    assert cli(home, "render", str(bundle), "--reveal") == 0
    out = capsys.readouterr().out
    assert ID_NUMBER in out and "Identity card" in out and "30 June 2024" in out

    assert cli(home, "render", str(bundle), "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["verdict"] == "VALID" and shown["layout"] == "credential"
    assert shown["validFrom"] == signed["validFrom"] and shown["anchoredAt"].endswith("Z")  # UTC in JSON
    fields = shown["sections"][0]["fields"]
    assert fields[1] == {
        "label": "Identity card",
        "value": "330106********1960",
        "sensitive": True,
        "path": "/idNumber",
    }

    assert cli(home, "share", str(bundle)) == 0
    link = capsys.readouterr().out.splitlines()[0]
    pdf = tmp_path / "out.pdf"
    assert cli(home, "render", str(bundle), "--pdf", str(pdf), "--lang", "zh", "--link", link) == 0
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(tmp_path / "page")], check=True)
    import zxingcpp
    from PIL import Image

    assert [r.text for r in zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))] == [link]
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    flat = "".join(text.split())
    assert "毕业证书" in flat and "张三<b>Zhang</b>" in flat and "330106********1960" in flat
    assert ID_NUMBER not in flat and "杭州市教育局" in flat
