"""The rendered certificate (docs/protocol.md §14) in real headless Chromium, against a real uvicorn
and a real anvil: the demo's degree and residence certificates drawn by their own layouts above the
checks, in both languages, on a desktop and a phone, within 300 ms of the verification answer; the
reader's time zone; masked sensitive fields; the browser and Python renderers agreeing; injection
through claims and through layouts running nothing; and the printable PDF, whose QR code opens
in Chromium as VALID."""

from __future__ import annotations

import json
import random
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from certledger.demo_data import degree_subject, residence_subject
from ledger.content import LocalContentStore
from ledger.protocol.credential import issue_credential
from ledger.protocol.credential_types import BUILTIN_TYPES, CredentialType
from ledger.protocol.layout import LAYOUT_KEYWORD, render
from ledger.verification.document import certificate_pdf
from tests.browser.conftest import CHROMIUM
from tests.browser.test_verifier_page import ARTIFACTS, verdict_of
from tests.integration.conftest import build_world, degree
from tests.integration.verifier_server import settings_for, share, start_verifier

EDU, CIVIL = "zj-hz-education", "zj-hz-civil"
RENDER_JS = Path(__file__).resolve().parents[2] / "verifier" / "static" / "render.js"
MARKER = "XSS-MARKER"
# each payload, if it ever ran, would open a dialog, log the marker or set window.__pwned
RUN = f"alert(1);console.log('{MARKER}');window.__pwned=1"
CLAIM_PAYLOADS = {
    "name": f'<img src=x onerror="{RUN}">',
    "major": f"</script><script>{RUN}</script>",
    "institution": f"javascript:{RUN}",
    "degree": f'" onmouseover="{RUN}" x="',
    "certificateNumber": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
}
EVIL_LAYOUT = {
    "title": {"en": f"<script>{RUN}</script>", "zh": f'<svg onload="{RUN}"></svg>'},
    "statement": {
        "en": f'Hello {{/name}}<iframe src="javascript:{RUN}"></iframe> {{{{7*7}}}}',
        "zh": f"{{/name}}</style><style>*{{background:url(javascript:{RUN})}}</style>",
    },
    "sections": [
        {
            "heading": {"en": f'"><img src=x onerror="{RUN}">', "zh": "{% for x in () %}{% endfor %}"},
            "fields": [
                {"label": {"en": f'<a href="javascript:{RUN}">click</a>', "zh": "姓名"}, "path": "/name"},
                {"label": {"en": "x"}, "path": f'/"><script>{RUN}</script>'},
                {"label": {"en": "ID", "zh": "身份证号"}, "path": "/idNumber", "sensitive": True},
            ],
        }
    ],
}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1100, "height": 1400}

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


class _LayoutAs:
    """A type that signs an arbitrary renderMethod (one the type registry would refuse), to test readers."""

    def __init__(self, base: CredentialType, render_method: dict) -> None:
        self.name, self._base, self.render_method = base.name, base, render_method

    def subject_errors(self, subject):
        return self._base.subject_errors(subject)


@pytest.fixture(scope="module")
def env(w3, anvil, tmp_path_factory):
    ARTIFACTS.mkdir(exist_ok=True)
    world = build_world(w3, anvil)
    rng = random.Random(24)
    university = "浙江示范大学 Zhejiang Demo University"
    degree_cred = world.sign(EDU, degree_subject(rng, university, 1))
    evil_claims = world.sign(EDU, {**degree(), **CLAIM_PAYLOADS})
    evil_type = CredentialType(
        "DegreeCertificate", {**BUILTIN_TYPES["DegreeCertificate"].schema, LAYOUT_KEYWORD: EVIL_LAYOUT}
    )
    edu = world.agencies[EDU]

    def signed(ctype, subject):
        return issue_credential(
            ctype,
            subject,
            edu.issuer,
            edu.signing_key,
            status=edu.status(),
            created=datetime.now(UTC) - timedelta(seconds=5),
        )

    evil_template = signed(evil_type, {**degree(), **CLAIM_PAYLOADS})
    base = BUILTIN_TYPES["DegreeCertificate"]
    broken = signed(
        _LayoutAs(
            base, {**base.render_method, "template": {**base.layout, "onload": RUN, "html": f"<script>{RUN}</script>"}}
        ),
        degree("钱七"),
    )
    foreign = signed(
        _LayoutAs(base, {"type": "TemplateRenderMethod", "renderSuite": "html", "template": f"<script>{RUN}</script>"}),
        degree("孙八"),
    )
    _, edu_bundles = world.anchor(EDU, [degree_cred, evil_claims, evil_template, broken, foreign])
    _, civil_bundles = world.anchor(CIVIL, [world.sign(CIVIL, residence_subject(rng), "ResidenceCertificate")])
    server = start_verifier(settings_for(world, tmp_path_factory.mktemp("render")))
    store = LocalContentStore(server.settings.content_dir)
    bundles = dict(zip(["degree", "evil-claims", "evil-template", "broken", "foreign"], edu_bundles, strict=True))
    bundles["residence"] = civil_bundles[0]
    yield {"world": world, "server": server, "store": store, "bundles": bundles}
    server.stop()


@pytest.fixture
def open_browser(chromium):
    """Fresh Chromium profiles in the Asia/Shanghai time zone (UTC+8), recording dialogs and console."""

    def open_(locale: str = "en-US", viewport=DESKTOP, **kw):
        _, page = chromium(locale=locale, timezone_id="Asia/Shanghai", viewport=viewport, accept_downloads=True, **kw)
        page.dialogs, page.console_lines = [], []
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: page.console_lines.append(m.text))
        return page

    return open_


def _open(env, page, name: str) -> None:
    link, _, _ = share(env["store"], env["bundles"][name], env["server"].url)
    page.goto(link)
    verdict_of(page)


def _timing_ms(page) -> float:
    timing = page.evaluate("window.__certledgerTiming")
    assert timing["answer"] is not None and timing["shown"] is not None
    return timing["shown"] - timing["answer"]


def _card_fields(page, root: str = "#certificate") -> list[tuple[str, str]]:
    """(label, value) of the drawn card, values as shown (masked or not), without the buttons."""
    pairs = page.evaluate(
        """(root) => Array.from(document.querySelectorAll(root + " .cl-field")).map((row) => {
            const dd = row.querySelector("dd");
            const value = dd.querySelector(".cl-sensitive") || dd.querySelector(".cl-value");
            return [row.querySelector("dt").textContent, value.textContent];
        })""",
        root,
    )
    return [tuple(pair) for pair in pairs]


def _python_fields(bundle, lang: str) -> list[tuple[str, str]]:
    shown = render(bundle.credential, lang)
    return [(f.label, f.text) for s in shown.sections for f in s.fields]


def _shanghai(utc_text: str) -> str:
    when = datetime.strptime(utc_text, "%Y-%m-%dT%H:%M:%SZ") + timedelta(hours=8)
    return when.strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize("name", ["degree", "residence"])
def test_demo_certificates_drawn_by_their_layouts_fast_in_both_languages(env, open_browser, name):
    bundle = env["bundles"][name]
    credential = bundle.credential
    timings = []
    for lang, locale in (("en", "en-US"), ("zh", "zh-CN")):
        for device, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page = open_browser(
                locale, viewport, **({"is_mobile": True, "device_scale_factor": 2} if device == "phone" else {})
            )
            _open(env, page, name)
            assert page.inner_text("#verdict").endswith("VALID" if lang == "en" else "有效")
            timings.append(_timing_ms(page))
            card = page.inner_text("#certificate")
            title = {
                "degree": {"en": "Degree Certificate", "zh": "学位证书"},
                "residence": {"en": "Certificate of Residence", "zh": "居住证明"},
            }[name][lang]
            assert title in card
            assert page.get_attribute("#certificate .cl-cert", "data-layout") == "credential"
            # above the checks
            assert page.evaluate(
                "document.getElementById('certificate').compareDocumentPosition(document.getElementById('checks'))"
                " & Node.DOCUMENT_POSITION_FOLLOWING"
            )
            # the labels and values the Python renderer gives, masked the same way
            assert _card_fields(page) == _python_fields(bundle, lang)
            id_number = credential["credentialSubject"]["idNumber"]
            masked = id_number[:6] + "********" + id_number[-4:]
            assert masked in card and id_number not in card
            # the reader's time zone, UTC on hover
            valid_from = page.locator("#certificate time").first
            assert valid_from.inner_text() == _shanghai(credential["validFrom"])
            assert valid_from.get_attribute("title") == credential["validFrom"]
            anchored = page.locator("#credential time").last
            assert anchored.get_attribute("title").endswith("Z") and "UTC" not in anchored.inner_text()
            # the checks' messages too: the anchor time local, the server's UTC text on hover
            said = page.locator('#checks li[data-check="anchor"] span[title]')
            assert anchored.get_attribute("title") in said.get_attribute("title")
            assert _shanghai(anchored.get_attribute("title")) in said.inner_text()
            page.screenshot(path=str(ARTIFACTS / f"certificate-{name}-{device}-{lang}.png"), full_page=True)
            # one field revealed on request
            page.click("#certificate .cl-reveal")
            assert id_number in page.inner_text("#certificate")
    print(f"\n{name}: certificate shown {', '.join(f'{t:.1f}' for t in timings)} ms after the verification answer")
    assert max(timings) < 300, timings


def test_the_reveal_switch_and_the_view_data_switch(env, open_browser):
    page = open_browser("en-US")
    _open(env, page, "residence")
    id_number = env["bundles"]["residence"].credential["credentialSubject"]["idNumber"]
    assert page.is_hidden("#raw")
    page.click("#view-data")
    assert page.is_visible("#raw") and "address" in page.inner_text("#claims")
    assert id_number not in page.inner_text("#result")
    page.click("#reveal")
    assert id_number in page.inner_text("#claims") and id_number in page.inner_text("#certificate")
    page.click("#lang-zh")  # the switches survive a re-render
    assert id_number in page.inner_text("#certificate") and page.is_visible("#raw")


def _assert_nothing_ran(page, root: str) -> None:
    assert page.dialogs == []
    assert not [line for line in page.console_lines if MARKER in line]
    assert page.evaluate("window.__pwned") is None
    found = page.evaluate(
        """(root) => {
            const card = document.querySelector(root);
            const active = card.querySelectorAll("script, img, svg, iframe, object, embed, a, style, link, form");
            const handlers = Array.from(card.querySelectorAll("*")).flatMap(
                (el) => Array.from(el.attributes).map((a) => a.name).filter((n) => n.startsWith("on") || n === "href" || n === "src" || n === "style"));
            return {active: active.length, handlers: handlers};
        }""",
        root,
    )
    assert found == {"active": 0, "handlers": []}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_injection_through_claims_and_layouts_runs_nothing(env, open_browser, lang):
    # 1. on the verifier page (which also has a strict Content-Security-Policy)
    page = open_browser("zh-CN" if lang == "zh" else "en-US")
    for name in ("evil-claims", "evil-template", "broken", "foreign"):
        _open(env, page, name)
        assert page.inner_text("#verdict").endswith("VALID" if lang == "en" else "有效")
        page.click("#view-data") if page.is_hidden("#raw") else None
        page.hover("#certificate .cl-cert")
        _assert_nothing_ran(page, "#certificate")
        card = page.eval_on_selector("#certificate", "el => el.textContent")
        claims = page.eval_on_selector("#claims", "el => el.textContent")
        for value in CLAIM_PAYLOADS.values():
            if name.startswith("evil"):
                assert value in claims  # shown literally
        if name == "evil-claims":
            for key in ("name", "major", "institution"):
                assert CLAIM_PAYLOADS[key] in card
        if name == "evil-template":
            assert EVIL_LAYOUT["title"][lang] in card
            assert CLAIM_PAYLOADS["name"] in card  # the statement's {/name}, as text
            if lang == "en":
                # no template evaluation: the literal survives (an evaluated one would read 49; the card
                # also holds a random UUID, so "49" alone may appear anywhere)
                assert "</iframe> {{7*7}}" in card
        if name == "broken":
            assert page.get_attribute("#certificate .cl-cert", "data-layout") == "default"
            assert "template.html: unknown member" in card or "template.onload: unknown member" in card
        if name == "foreign":
            assert page.get_attribute("#certificate .cl-cert", "data-layout") == "default"
            assert "<script>" not in card
    page.screenshot(path=str(ARTIFACTS / f"certificate-injection-{lang}.png"), full_page=True)

    # 2. render.js alone on a page WITHOUT any Content-Security-Policy: the renderer itself must be safe
    bare = open_browser("en-US")
    bare.set_content("<!doctype html><html><body><div id='out'></div></body></html>")
    bare.add_script_tag(path=str(RENDER_JS))
    for name in ("evil-claims", "evil-template", "broken", "foreign"):
        bundle = json.loads(env["bundles"][name].to_bytes())
        bare.evaluate(
            "([bundle, lang]) => { const out = document.getElementById('out'); out.textContent = '';"
            " out.appendChild(renderCertificate(bundle, {lang, reveal: true})); }",
            [bundle, lang],
        )
        bare.hover("#out")
        bare.click("#out .cl-title")
        _assert_nothing_ran(bare, "#out")
        if name.startswith("evil"):
            assert CLAIM_PAYLOADS["name"] in bare.eval_on_selector("#out", "el => el.textContent")
        # the same layout, labels and values as the Python renderer
        python = render(bundle["credential"], lang, reveal=True)
        assert _card_fields(bare, "#out") == [(f.label, f.text) for s in python.sections for f in s.fields]
    bare.wait_for_timeout(300)  # anything scheduled (an image's onerror) has had its chance
    _assert_nothing_ran(bare, "#out")


def _pdf_pages(pdf: bytes, tmp_path: Path, name: str) -> list[Path]:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(path), str(tmp_path / name)], check=True)
    return sorted(tmp_path.glob(f"{name}*.png"))


def _qr_text(png: Path) -> str:
    import zxingcpp
    from PIL import Image

    found = zxingcpp.read_barcodes(Image.open(png))
    assert len(found) == 1, found
    return found[0].text


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "text.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_printed_certificate_qr_code_opens_as_valid(env, open_browser, tmp_path, lang):
    import shutil

    bundle = env["bundles"]["degree"]
    link, _, _ = share(env["store"], bundle, env["server"].url)
    page = open_browser("zh-CN" if lang == "zh" else "en-US")
    page.goto(link)
    assert verdict_of(page).endswith("VALID" if lang == "en" else "有效")
    report = page.evaluate(
        "async (text) => (await fetch('/verify', {method: 'POST', headers: {'Content-Type': 'application/json'},"
        " body: text})).json()",
        bundle.dumps(),
    )
    pdf = certificate_pdf(bundle.credential, report, lang=lang, link=link, tz_offset_minutes=480)
    pages = _pdf_pages(pdf, tmp_path, "certificate")
    assert len(pages) == 1  # one A4 page
    shutil.copy(pages[0], ARTIFACTS / f"certificate-degree-pdf-{lang}.png")
    assert _qr_text(pages[0]) == link
    text = "".join(ch for ch in _pdf_text(pdf, tmp_path) if not ch.isspace())
    subject = bundle.credential["credentialSubject"]
    assert subject["idNumber"][:6] + "********" + subject["idNumber"][-4:] in text
    assert subject["idNumber"] not in text
    assert "杭州市教育局HangzhouEducationBureau" in text  # the agency's name on chain
    assert _shanghai(report["credential"]["anchoredAt"]).replace(" ", "") + "(UTC+08:00)" in text
    assert ("学位证书" if lang == "zh" else "DegreeCertificate") in text

    scanned = open_browser("en-US")
    scanned.goto(_qr_text(pages[0]))
    assert verdict_of(scanned) == "✓ VALID"


def test_print_button_gives_the_pdf_pointing_at_the_verifier(env, open_browser, tmp_path):
    # opened from a file, not a link: the browser profile keeps a download's page address, and that
    # must not be a share link with its key (the session's secret scan reads the profile's logs)
    path = tmp_path / "evil-claims.json"
    path.write_bytes(env["bundles"]["evil-claims"].to_bytes())
    page = open_browser("zh-CN")
    page.goto(env["server"].url + "/")
    page.set_input_files("#file", str(path))
    assert verdict_of(page) == "✓ 有效"
    with page.expect_download() as download:
        page.click("#print")
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")
    pages = _pdf_pages(pdf, tmp_path, "button")
    assert _qr_text(pages[0]) == env["server"].url  # no share link leaves the page: the upload page
    flat = "".join(ch for ch in _pdf_text(pdf, tmp_path) if not ch.isspace())
    for key in ("name", "institution"):
        assert "".join(ch for ch in CLAIM_PAYLOADS[key] if not ch.isspace()) in flat  # printed literally
    assert "有效" in flat
    assert page.dialogs == []
