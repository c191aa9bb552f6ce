"""The transparency pages in real headless Chromium against a real uvicorn and a private anvil (its
clock is moved forward between anchors, so that the charts span several days): the figures a person
sees, in English and Chinese, on a desktop and a phone; the latest events list updating by itself;
the pages without JavaScript; the weight of each page. Screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.chain import Reason, connect
from ledger.protocol.identifiers import agency_id
from ledger.protocol.keys import SigningKey
from tests.browser.conftest import CHROMIUM
from tests.integration.conftest import build_world, degree
from tests.integration.test_verifier_indexer import private_chain, rpc  # noqa: F401  (fixture)
from tests.integration.verifier_server import settings_for, start_verifier

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
EDU, CIVIL = "zj-hz-education", "zj-hz-civil"
PAGE_WEIGHT_LIMIT = 200 * 1024
VIEWPORTS = {"desktop": {"width": 1200, "height": 900}, "phone": {"width": 390, "height": 844}}

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def env(private_chain, tmp_path_factory):  # noqa: F811  (the imported fixture)
    world = build_world(connect(private_chain.rpc_url, private_chain.chain_id), private_chain)
    anchored = 0
    batches = []
    for day in range(6):  # a batch or two a day for six days
        for size in (3, 2)[: 1 + day % 2]:
            batch, _ = world.anchor(EDU, [world.sign(EDU, degree(f"学生{day}-{i}")) for i in range(size)])
            batches.append(batch)
            anchored += size
        rpc(world.rpc_url, "evm_increaseTime", 86_400)
    first = batches[0]
    world.agencies[EDU].ledger.revoke(first.digests[0], first.root, first.tree.proof(0), Reason.SUPERSEDED)
    world.agencies[EDU].ledger.suspend(first.digests[1], first.root, first.tree.proof(1), Reason.HOLDER_REQUEST)
    leaked = SigningKey.generate().public_key.raw
    now = connect(world.rpc_url).eth.get_block("latest")["timestamp"]
    world.registry.add_key(agency_id(EDU), leaked, now - 4 * 86_400)
    world.registry.revoke_key(agency_id(EDU), leaked, now - 2 * 86_400)
    server = start_verifier(settings_for(world, tmp_path_factory.mktemp("transparency-page")))
    with server.client() as client:  # until the index has everything
        for _ in range(100):
            if client.get("/transparency/api/ledger").json()["totals"]["compromisedKeys"] == 1:
                break
            __import__("time").sleep(0.2)
    yield {"world": world, "server": server, "anchored": anchored, "batches": batches}
    server.stop()


@pytest.fixture
def open_browser(chromium):
    def open_(viewport: str = "desktop", javascript: bool = True):
        phone = viewport == "phone"
        return chromium(viewport=VIEWPORTS[viewport], is_mobile=phone, has_touch=phone, java_script_enabled=javascript)[
            1
        ]

    return open_


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pages_in_both_languages_on_desktop_and_phone(env, open_browser, lang, viewport):
    ARTIFACTS.mkdir(exist_ok=True)
    base = env["server"].url
    page = open_browser(viewport)
    weights = {}
    for name, path in (
        ("ledger", "/transparency"),
        ("agencies", "/transparency/agencies"),
        ("agency", f"/transparency/agencies/{EDU}"),
        ("lookup", f"/transparency/lookup?agency={EDU}&batch=0x{env['batches'][0].root.hex()}"),
    ):
        url = f"{base}{path}{'&' if '?' in path else '?'}lang={lang}"
        sizes: list[int] = []
        listener = lambda r, sizes=sizes: sizes.append(len(r.body()))  # noqa: E731
        page.on("response", listener)
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.remove_listener("response", listener)
        weights[name] = sum(sizes)
        assert weights[name] <= PAGE_WEIGHT_LIMIT, (name, weights[name])
        assert page.evaluate("document.documentElement.lang") == ("zh-CN" if lang == "zh" else "en")
        assert no_horizontal_scroll(page), f"{name} scrolls sideways on {viewport}"
        page.screenshot(path=str(ARTIFACTS / f"transparency-{name}-{lang}-{viewport}.png"), full_page=True)
        text = page.inner_text("main")
        if name == "ledger":
            assert page.inner_text('[data-total="credentials"]') == f"{env['anchored']:,}"
            assert page.inner_text('[data-total="batches"]') == str(len(env["batches"]))
            assert page.inner_text('[data-total="revocations"]') == "1"
            assert page.inner_text('[data-total="suspensions"]') == "1"
            assert ("已锚定证书" if lang == "zh" else "Credentials anchored") in text
            assert page.locator("svg.chart rect").count() > 6  # bars of several days
        elif name == "agency":
            assert ("已泄露" if lang == "zh" else "compromised") in text
            assert ("已被替代" if lang == "zh" else "superseded") in text
            assert page.locator("#batches tbody tr").count() == len(env["batches"])
        elif name == "lookup":
            assert page.is_visible("#lookup-result")
            assert page.locator("#history").count() == 0  # the batch as a whole never changed status
        assert "学生" not in text  # never a credential's content
    (ARTIFACTS / f"transparency-weights-{lang}-{viewport}.txt").write_text(
        "".join(f"{k} {v}\n" for k, v in weights.items())
    )


def test_latest_events_update_by_themselves_and_the_pages_read_without_javascript(env, open_browser):
    world, base = env["world"], env["server"].url
    page = open_browser()
    page.goto(f"{base}/transparency?lang=en")
    rows = page.locator("#events tr").count()
    assert rows > 0
    batch, _ = world.anchor(EDU, [world.sign(EDU, degree(f"live{i}")) for i in range(7)])
    page.wait_for_selector("#events tr.fresh", timeout=20_000)  # polled every 5 s
    newest = page.inner_text("#events tr:first-child")
    assert "Anchored" in newest and ("0x" + batch.root.hex())[:14] in newest
    page.screenshot(path=str(ARTIFACTS / "transparency-ledger-live-en-desktop.png"), full_page=True)

    plain = open_browser(javascript=False)
    plain.goto(f"{base}/transparency/agencies/{EDU}?lang=zh")
    assert plain.locator("svg.chart").count() >= 3  # per-day anchors, reasons, key timeline: all drawn by the server
    assert plain.locator("#batches tbody tr").count() == len(env["batches"]) + 1
    plain.goto(f"{base}/transparency?lang=zh&period=week")
    assert plain.inner_text('[data-total="credentials"]') == f"{env['anchored'] + 7:,}"
