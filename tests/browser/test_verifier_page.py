"""The verifier's web page in real headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright), against a real uvicorn and a real anvil: what a person sees for a valid share link in
both languages, a revoked credential, a tampered file and a photographed QR code; and that no share
key reaches the server (its requests, its logs)."""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from pathlib import Path

import pytest

from ledger.chain import Reason
from ledger.content import LocalContentStore, qr_png
from ledger.protocol.identifiers import agency_id
from tests.browser.conftest import CHROMIUM
from tests.integration.conftest import build_world, degree
from tests.integration.verifier_server import settings_for, share, start_verifier

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
EDU = "zj-hz-education"
SIGNED_NAME = "杭州市教育局 Hangzhou Education Bureau"  # issuer.name in the credentials
ON_CHAIN_NAME = "杭州市教育局（新名称）Hangzhou Municipal Education Bureau"  # the agency's name on chain, renamed since

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (scripts/install-system-deps.sh installs it)",
    ),
]


@pytest.fixture(scope="module")
def env(w3, anvil, tmp_path_factory):
    world = build_world(w3, anvil)
    batch, bundles = world.anchor(EDU, [world.sign(EDU, degree(n)) for n in ("王小明", "李华", "赵敏")])
    world.agencies[EDU].ledger.revoke(batch.digests[1], batch.root, batch.tree.proof(1), Reason.SUPERSEDED)
    # renamed after issuance: a verified credential is shown under the name the chain records now
    assert world.agencies[EDU].issuer.name == SIGNED_NAME
    world.registry.set_agency_name(agency_id(EDU), ON_CHAIN_NAME)
    server = start_verifier(settings_for(world, tmp_path_factory.mktemp("page")))
    store = LocalContentStore(server.settings.content_dir)
    yield {"world": world, "server": server, "store": store, "bundles": bundles}
    server.stop()


@pytest.fixture
def open_browser(chromium):
    """Fresh Chromium profiles (one per language asked for)."""

    def open_(locale: str = "en-US"):
        return chromium(locale=locale, viewport={"width": 1100, "height": 1400})[1]

    return open_


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"verifier-{name}.png"), full_page=True)


def verdict_of(page) -> str:
    page.wait_for_selector("#result:not([hidden]), #problem:not([hidden])")
    return page.inner_text("#verdict") if page.is_visible("#result") else page.inner_text("#problem")


def check_row(page, name: str) -> str:
    return page.inner_text(f'#checks li[data-check="{name}"]')


def credential_fields(page) -> dict:
    """The credential panel as {label: value}."""
    return page.evaluate("""() => {
        const out = {};
        for (const dt of document.querySelectorAll("#credential dt")) {
            const dd = dt.nextElementSibling;
            if (dd && dd.tagName === "DD") out[dt.textContent.trim()] = dd.textContent.trim();
        }
        return out;
    }""")


def test_valid_share_link_shows_valid_in_english_and_chinese(env, open_browser):
    link, _, _ = share(env["store"], env["bundles"][0], env["server"].url)

    page = open_browser("en-US")
    page.goto(link)
    assert verdict_of(page) == "✓ VALID"
    assert page.evaluate("document.documentElement.lang") == "en"
    body = page.inner_text("body")
    assert "This certificate is authentic" in body
    for name in ("format", "integrity", "anchor", "issuer", "status", "validity"):
        assert "Pass" in check_row(page, name)
    assert "Anchored on chain at" in check_row(page, "anchor")
    credential = page.inner_text("#credential")
    assert "Degree certificate (DegreeCertificate)" in credential
    fields = credential_fields(page)
    assert fields["Issued by"] == ON_CHAIN_NAME  # the agency's on-chain name
    assert fields["Agency code"] == EDU
    assert fields["Signing key"] == env["world"].agencies[EDU].signing_key.public_key.did
    assert env["bundles"][0].anchor.tx_hash.hex() in credential.replace("0x", "")
    card = page.inner_text("#certificate")  # the certificate as its layout draws it, above the checks
    assert "Name" in card and "王小明" in card and "Major" in card and "Degree Certificate" in card
    assert "330106********1234" in card and "330106199001011234" not in card  # masked until asked
    assert page.evaluate("document.activeElement.id") == "verdict"  # focus moved to the verdict
    assert page.is_hidden("#claims")  # the raw claims behind "View data"
    page.click("#view-data")
    claims = page.inner_text("#claims")
    assert "name" in claims and "王小明" in claims and "330106********1234" in claims
    assert page.get_attribute("#status", "aria-live") == "polite"
    assert "VALID" in page.inner_text("#status")  # and it was announced
    screenshot(page, "valid-en")

    page = open_browser("zh-CN")
    page.goto(link)
    assert verdict_of(page) == "✓ 有效"
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert "该证书真实可信" in page.inner_text("body")
    assert "通过" in check_row(page, "integrity") and "签发机构的签名有效" in check_row(page, "integrity")
    assert "已于" in check_row(page, "anchor") and "上链存证" in check_row(page, "anchor")
    assert "姓名" in page.inner_text("#certificate") and "学位证书" in page.inner_text("#credential")
    fields = credential_fields(page)
    assert fields["签发机构"] == ON_CHAIN_NAME and fields["机构代码"] == EDU
    screenshot(page, "valid-zh")
    page.click("#lang-en")  # the switch re-renders in place
    assert page.inner_text("#verdict") == "✓ VALID" and "Pass" in check_row(page, "status")
    page.click("#lang-zh")
    assert page.inner_text("#verdict") == "✓ 有效"


def test_revoked_credential_shows_revoked_with_its_reason(env, open_browser):
    link, _, _ = share(env["store"], env["bundles"][1], env["server"].url)
    page = open_browser("en-GB")
    page.goto(link)
    assert verdict_of(page) == "✗ NOT VALID"
    row = check_row(page, "status")
    assert "Fail" in row and re.search(r"Revoked \(superseded\) on \d{4}-\d\d-\d\d \d\d:\d\d", row) and "REVOKED" in row
    assert "Revoked (superseded)" in page.inner_text("#verdict-reason")
    assert "What the file claims (not verified)" in page.inner_text("#result")
    screenshot(page, "revoked-en")
    page.click("#lang-zh")
    assert page.inner_text("#verdict") == "✗ 无效"
    assert "已被替代" in check_row(page, "status") and "未通过" in check_row(page, "status")
    screenshot(page, "revoked-zh")


def test_tampered_file_shows_which_check_failed(env, open_browser, tmp_path):
    tampered = json.loads(env["bundles"][2].to_bytes())
    tampered["credential"]["credentialSubject"]["degree"] = "博士 Doctor of Philosophy"
    path = tmp_path / "tampered-degree.json"
    path.write_text(json.dumps(tampered, ensure_ascii=False, indent=2), "utf-8")
    page = open_browser("en-US")
    page.goto(env["server"].url + "/")
    page.set_input_files("#file", str(path))
    assert verdict_of(page) == "✗ NOT VALID"
    integrity = check_row(page, "integrity")
    assert "Fail" in integrity and "The signature does not match" in integrity and "INVALID_SIGNATURE" in integrity
    assert "Fail" in check_row(page, "anchor") and "the content was changed" in check_row(page, "anchor")
    assert "Not checked" in check_row(page, "issuer")
    assert "Pass" in check_row(page, "format")
    assert "file tampered-degree.json" in page.inner_text("#credential")
    # not verified: the issuer check did not run, so the page shows what the file claims
    fields = credential_fields(page)
    assert fields["Issued by"] == SIGNED_NAME and fields["Agency code"] == EDU
    screenshot(page, "tampered-en")

    not_a_bundle = tmp_path / "notes.json"
    not_a_bundle.write_text('{"hello": "world"}')
    page.set_input_files("#file", str(not_a_bundle))
    page.wait_for_selector("#problem:not([hidden])")
    assert "This is not a CertLedger certificate file." in page.inner_text("#problem")
    assert page.is_hidden("#result")


def test_an_uploaded_qr_code_image_resolves_to_the_right_credential(env, open_browser, tmp_path):
    bundle = env["bundles"][2]
    link, _, _ = share(env["store"], bundle, env["server"].url)
    from PIL import Image, ImageFilter

    # A "photo": the QR code small on a larger grey background, slightly blurred.
    code = Image.open(__import__("io").BytesIO(qr_png(link, box_size=6))).convert("RGB")
    photo = Image.new("RGB", (code.width * 2 + 300, code.height + 400), (200, 200, 190))
    photo.paste(code, (180, 150))
    photo = photo.filter(ImageFilter.GaussianBlur(0.8))
    path = tmp_path / "photo-of-qr.png"
    photo.save(path)

    page = open_browser("zh-CN")
    page.goto(env["server"].url + "/")
    page.set_input_files("#qr", str(path))
    assert verdict_of(page) == "✓ 有效"
    credential = page.inner_text("#credential")
    assert bundle.credential["id"] in credential and "二维码" in credential
    assert "赵敏" in page.inner_text("#certificate")
    screenshot(page, "qr-zh")

    blank = tmp_path / "blank.png"
    Image.new("RGB", (400, 300), (255, 255, 255)).save(blank)
    page.set_input_files("#qr", str(blank))
    page.wait_for_selector("#problem:not([hidden])")
    assert "图片中没有找到二维码" in page.inner_text("#problem")


def test_a_dropped_bundle_file(env, open_browser):
    page = open_browser("en-US")
    page.goto(env["server"].url + "/")
    page.evaluate(
        """([name, text]) => {
        const data = new DataTransfer();
        data.items.add(new File([text], name, {type: "application/json"}));
        const zone = document.getElementById("drop");
        zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: data, bubbles: true, cancelable: true}));
        zone.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
    }""",
        ["degree.json", env["bundles"][0].dumps()],
    )
    assert verdict_of(page) == "✓ VALID"
    assert "file degree.json" in page.inner_text("#credential")


def test_a_pasted_link_and_a_wrong_key(env, open_browser):
    link, cid, key = share(env["store"], env["bundles"][0], env["server"].url)
    page = open_browser("en-US")
    page.goto(env["server"].url + "/")
    page.fill("#link", link)
    page.click("#link-form button[type=submit]")
    assert verdict_of(page) == "✓ VALID"
    wrong = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    page.fill("#link", wrong)
    page.press("#link", "Enter")
    page.wait_for_selector("#problem:not([hidden])")
    assert "could not be decrypted" in page.inner_text("#problem")
    page.fill("#link", "https://example.org/not-a-share")
    page.press("#link", "Enter")
    page.wait_for_selector("#problem-text:has-text('not a share link')")


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        if not record.name.startswith(("httpx", "httpcore")):  # the tests' own client, not the server
            self.lines.append(self.format(record))


def test_no_share_key_reaches_the_server_or_its_logs(env, open_browser, capfd):
    loggers = [logging.getLogger(n) for n in ("", "uvicorn", "uvicorn.error", "uvicorn.access", "verifier")]
    capture = Capture()
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(capture)
        lg.setLevel(logging.DEBUG if lg.name == "verifier" else logging.INFO)
    try:
        link, cid, key = share(env["store"], env["bundles"][0], env["server"].url)
        page = open_browser("en-US")
        sent = []
        page.on("request", lambda r: sent.append((r.url, r.post_data or "", json.dumps(r.headers))))
        page.goto(link)
        assert verdict_of(page) == "✓ VALID"
        page.reload()  # again, from the address bar
        assert verdict_of(page) == "✓ VALID"
        with env["server"].client() as client:  # and other clients hitting /s/{cid}
            client.get(link)
            client.get(f"/s/{cid}")
            client.get(f"/s/{cid}%23k={link.split('#k=')[1]}")
        time.sleep(0.3)
    finally:
        for lg, level in zip(loggers, levels):
            lg.removeHandler(capture)
            lg.setLevel(level)
    out, err = capfd.readouterr()
    logs = "\n".join(capture.lines) + out + err
    assert f"GET /s/{cid}" in logs and f"GET /content/{cid}" in logs and "POST /verify" in logs
    forms = [base64.urlsafe_b64encode(key).decode().rstrip("="), base64.b64encode(key).decode().rstrip("="), key.hex()]
    for form in forms:
        assert form not in logs
        assert not any(form in url or form in body or form in headers for url, body, headers in sent)
    assert any(u.endswith(f"/content/{cid}") for u, _, _ in sent) and any(u.endswith("/verify") for u, _, _ in sent)
