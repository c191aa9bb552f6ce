"""The citizen's wallet (/wallet) in real headless Chromium against a real uvicorn and a real anvil:
adding a certificate from a share link, a QR code image and a file; the certificates kept across a
reload and verified again on each opening; a revocation and a suspension made on chain after the
certificate was added, shown on the next opening; the page opened offline from its service worker;
the share QR code drawn in the browser (read back by zxing-cpp); export and delete; and that no
request leaves for another host or carries a share key."""

from __future__ import annotations

import base64
import io
import json
import re
import time
from pathlib import Path

import pytest

from ledger.chain import Reason
from ledger.content import LocalContentStore, qr_png
from tests.browser.conftest import CHROMIUM
from tests.integration.conftest import build_world, degree
from tests.integration.verifier_server import settings_for, share, start_verifier
from verifier.wallet import shell

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
EDU = "zj-hz-education"
NAMES = ("钱包一", "钱包二", "钱包三", "钱包四", "钱包五")
PHONE = {"width": 390, "height": 844}

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
    batch, bundles = world.anchor(EDU, [world.sign(EDU, degree(n)) for n in NAMES])
    server = start_verifier(settings_for(world, tmp_path_factory.mktemp("wallet")))
    store = LocalContentStore(server.settings.content_dir)
    yield {"world": world, "server": server, "store": store, "bundles": bundles, "batch": batch}
    server.stop()


@pytest.fixture
def open_browser(chromium):
    """Fresh Chromium profiles; returns (context, page)."""

    def open_(locale: str = "en-US", timezone: str = "Asia/Shanghai", phone: bool = False):
        return chromium(
            locale=locale,
            timezone_id=timezone,
            viewport=PHONE if phone else {"width": 1100, "height": 1000},
            is_mobile=phone,
            has_touch=phone,
            device_scale_factor=2 if phone else 1,
            accept_downloads=True,
        )

    return open_


# When each certificate first shows a finished verification (performance.now(), the page's clock).
SHOWN_AT = """
window.__walletShown = {};
new MutationObserver(() => {
  for (const node of document.querySelectorAll('.wallet-item[data-phase="done"]')) {
    if (!(node.dataset.id in window.__walletShown)) window.__walletShown[node.dataset.id] = performance.now();
  }
}).observe(document, { subtree: true, childList: true, attributes: true });
"""


def screenshot(page, name: str, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"wallet-{name}.png"), full_page=full_page)


def item(page, bundle) -> str:
    return f'.wallet-item[data-id="{bundle.credential["id"]}"]'


def wait_state(page, bundle, phase: str = "done") -> str:
    """The item's state once its verification ended (``phase``: done or offline)."""
    selector = item(page, bundle)
    page.wait_for_selector(f'{selector}[data-phase="{phase}"]')
    return page.get_attribute(selector, "data-state")


def open_add(page) -> None:
    """The "add a certificate" panel, folded away once the wallet holds certificates."""
    if not page.evaluate("document.getElementById('add').open"):
        page.click("#add summary")


def add_link(page, link: str) -> None:
    open_add(page)
    page.fill("#link", link)
    page.click("#link-form button[type=submit]")


def wait_status(env, bundle, code: str, timeout_s: float = 20) -> None:
    """Until the verifier's index has the status change (POST /verify names ``code``)."""
    deadline = time.monotonic() + timeout_s
    with env["server"].client() as client:
        while True:
            report = client.post("/verify", content=bundle.to_bytes()).json()
            if next(c for c in report["checks"] if c["name"] == "status")["code"] == code:
                return
            assert time.monotonic() < deadline, report
            time.sleep(0.25)


def test_the_routes_headers_manifest_and_worker(env):
    with env["server"].client() as client:
        page = client.get("/wallet")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "connect-src 'self'" in policy and "script-src 'self'" in policy
        assert "unsafe" not in policy
        assert '<link rel="manifest" href="/wallet/manifest.webmanifest">' in page.text
        manifest = client.get("/wallet/manifest.webmanifest")
        assert manifest.headers["content-type"] == "application/manifest+json"
        data = manifest.json()
        assert "证书钱包" in data["name"] and "wallet" in data["name"]
        assert data["start_url"] == data["scope"] == "/wallet" and data["display"] == "standalone"
        assert {i["sizes"] for i in data["icons"]} == {"any", "192x192", "512x512"}
        for icon in data["icons"]:
            assert client.get(icon["src"]).status_code == 200
        worker = client.get("/wallet/sw.js")
        assert worker.headers["content-type"].startswith("text/javascript")
        assert worker.headers["service-worker-allowed"] == "/wallet"
        version = re.search(r'const VERSION = "([0-9a-f]{16})";', worker.text)
        assert version, worker.text[:400]
        listed = json.loads(re.search(r"const SHELL = (\[.*?\]);", worker.text).group(1))
        assert listed == shell("") and "/wallet" in listed and "/static/share.js" in listed
        for path in listed:  # every file the worker keeps exists, or its install would fail
            assert client.get(path).status_code == 200, path
        assert client.post("/wallet").status_code == 405


def test_add_by_link_survives_a_reload_in_both_languages(env, open_browser):
    link, cid, key = share(env["store"], env["bundles"][0], env["server"].url)
    context, page = open_browser("en-US")
    sent = []
    page.on("request", lambda r: sent.append((r.method, r.url, r.post_data or "")))
    page.goto(env["server"].url + "/wallet")
    page.wait_for_selector("#empty:not([hidden])")
    add_link(page, link)
    assert wait_state(page, env["bundles"][0]) == "valid"
    card = page.inner_text(item(page, env["bundles"][0]))
    assert "✓ Valid" in card and "钱包一" in card and "Degree Certificate" in card  # the layout's title
    # Times in the reader's zone (Asia/Shanghai here), UTC on hover.
    when = page.locator(f"{item(page, env['bundles'][0])} .wallet-when")
    assert re.fullmatch(r"Checked \d{4}-\d\d-\d\d \d\d:\d\d \(UTC\+8\)", when.inner_text())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", when.get_attribute("title"))
    assert "Added: Degree certificate · 钱包一." in page.inner_text("#status")

    page.add_init_script(SHOWN_AT)
    page.reload()  # kept in IndexedDB, verified again on opening
    assert wait_state(page, env["bundles"][0]) == "valid"
    # The card with its verdict is on screen within 300 ms of the verification's answer.
    shown, answered = page.evaluate(
        """(id) => [window.__walletShown[id],
            Math.max(...performance.getEntriesByType("resource").filter((e) => e.name.endsWith("/verify"))
                .map((e) => e.responseEnd))]""",
        env["bundles"][0].credential["id"],
    )
    print(f"\nwallet: card with its verdict shown {shown - answered:.1f} ms after the answer of POST /verify")
    assert 0 <= shown - answered < 300
    assert page.locator(".wallet-item").count() == 1
    verifies = [s for s in sent if s[0] == "POST" and s[1].endswith("/verify")]
    assert len(verifies) == 2  # one when added, one on the reopening
    page.click(f"{item(page, env['bundles'][0])} .wallet-checks summary")
    screenshot(page, "desktop-en")

    page.click("#lang-zh")
    assert "✓ 有效" in page.inner_text(item(page, env["bundles"][0]))
    assert "验证于" in page.inner_text(item(page, env["bundles"][0]))
    assert page.inner_text("h1") == "我的证书"
    screenshot(page, "desktop-zh")

    # Nothing went anywhere but this verifier, and the key went nowhere at all.
    key_forms = [base64.urlsafe_b64encode(key).decode().rstrip("="), key.hex()]
    assert all(url.startswith(env["server"].url) for _, url, _ in sent), sent
    assert not any(form in url or form in body for _, url, body in sent for form in key_forms)
    assert any(url.endswith(f"/content/{cid}") for _, url, _ in sent)


def test_add_by_qr_image_and_show_the_share_qr_full_screen(env, open_browser):
    bundle = env["bundles"][1]
    link, _, _ = share(env["store"], bundle, env["server"].url)
    from PIL import Image, ImageFilter

    code = Image.open(io.BytesIO(qr_png(link, box_size=6))).convert("RGB")
    photo = Image.new("RGB", (code.width * 2 + 300, code.height + 400), (200, 200, 190))
    photo.paste(code, (180, 150))
    path = Path(env["server"].settings.content_dir).parent / "photo-of-qr.png"
    photo.filter(ImageFilter.GaussianBlur(0.8)).save(path)

    context, page = open_browser("zh-CN", phone=True)
    page.goto(env["server"].url + "/wallet")
    page.set_input_files("#qr", str(path))
    assert wait_state(page, bundle) == "valid"
    text = page.inner_text(item(page, bundle))
    assert "✓ 有效" in text and "钱包二" in text and "从二维码添加" in text
    screenshot(page, "phone-zh")

    page.click(f"{item(page, bundle)} .show-qr")
    page.wait_for_selector("#qr-screen:not([hidden])")
    box = page.locator("#qr-canvas").bounding_box()
    assert box["width"] >= PHONE["width"] * 0.85  # fills the phone's width
    data_url = page.evaluate("document.getElementById('qr-canvas').toDataURL('image/png')")
    import zxingcpp

    drawn = Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1])))
    assert [r.text for r in zxingcpp.read_barcodes(drawn)] == [link]  # the link, read back by another decoder
    screenshot(page, "phone-zh-qr", full_page=False)  # what the counter sees
    page.keyboard.press("Escape")
    page.wait_for_selector("#qr-screen", state="hidden")

    page.click("#lang-en")
    assert "✓ Valid" in page.inner_text(item(page, bundle))
    screenshot(page, "phone-en")

    blank = path.parent / "blank.png"
    Image.new("RGB", (400, 300), (255, 255, 255)).save(blank)
    open_add(page)
    page.set_input_files("#qr", str(blank))
    page.wait_for_selector("#problem:not([hidden])")
    assert "No QR code was found" in page.inner_text("#problem")


def test_revoked_and_suspended_shown_on_the_next_opening(env, open_browser):
    revoked, suspended = env["bundles"][2], env["bundles"][3]
    context, page = open_browser("en-GB", timezone="Europe/Paris")
    page.goto(env["server"].url + "/wallet")
    for bundle in (revoked, suspended):
        add_link(page, share(env["store"], bundle, env["server"].url)[0])
        assert wait_state(page, bundle) == "valid"

    batch, ledger = env["batch"], env["world"].agencies[EDU].ledger
    ledger.revoke(batch.digests[2], batch.root, batch.tree.proof(2), Reason.SUPERSEDED)
    ledger.suspend(batch.digests[3], batch.root, batch.tree.proof(3), Reason.UNSPECIFIED)
    wait_status(env, revoked, "REVOKED")
    wait_status(env, suspended, "SUSPENDED")

    page.reload()
    assert wait_state(page, revoked) == "revoked"
    assert wait_state(page, suspended) == "suspended"
    text = page.inner_text(item(page, revoked))
    assert "✗ Revoked" in text and "Revoked (superseded) on" in text
    assert "‖ Suspended" in page.inner_text(item(page, suspended))
    # the revocation's time in the reader's zone (the report's UTC text on hover)
    reason = page.locator(f"{item(page, revoked)} .wallet-reason")
    assert re.search(r"on \d{4}-\d\d-\d\d \d\d:\d\d \(UTC\+1\)", reason.inner_text()), reason.inner_text()
    assert re.search(r"on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", reason.get_attribute("title"))
    assert page.locator(f"{item(page, revoked)} .wallet-verdict.revoked").is_visible()
    screenshot(page, "revoked-en")
    page.click("#lang-zh")
    assert "已撤销" in page.inner_text(item(page, revoked)) and "已暂停" in page.inner_text(item(page, suspended))


def test_offline_from_the_service_worker_then_export_and_delete(env, open_browser, tmp_path):
    bundle = env["bundles"][4]
    path = tmp_path / "degree.json"
    path.write_bytes(bundle.to_bytes())
    context, page = open_browser("en-US")
    page.goto(env["server"].url + "/wallet")
    page.set_input_files("#file", str(path))
    assert wait_state(page, bundle) == "valid"
    assert page.is_disabled(f"{item(page, bundle)} .show-qr")  # a file has no share link to show
    page.evaluate(  # until the service worker is active and controls the page (it claims it)
        """async () => {
        await navigator.serviceWorker.ready;
        if (!navigator.serviceWorker.controller) {
            await new Promise((done) => navigator.serviceWorker.addEventListener("controllerchange", done));
        }
    }"""
    )

    # Chromium's own verdict on the manifest, the icons and the worker: installable.
    errors = context.new_cdp_session(page).send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert errors == [], errors

    with page.expect_download() as download:
        page.click(f"{item(page, bundle)} .export")
    assert Path(download.value.path()).read_bytes() == bundle.to_bytes()
    assert download.value.suggested_filename.endswith(".json")

    context.set_offline(True)
    page.reload()
    assert wait_state(page, bundle, phase="offline") == "valid"  # the last answer, said to be the last
    text = page.inner_text(item(page, bundle))
    assert re.search(r"Offline — last checked \d{4}-\d\d-\d\d \d\d:\d\d \(UTC\+8\)", text), text
    assert "钱包五" in text
    screenshot(page, "offline-en")

    page.on("dialog", lambda dialog: dialog.accept())
    page.click(f"{item(page, bundle)} .delete")
    page.wait_for_selector(item(page, bundle), state="detached")
    page.reload()
    page.wait_for_selector("#empty:not([hidden])")
    assert page.locator(".wallet-item").count() == 0
    context.set_offline(False)
