"""Headless Chromium for the page tests: Debian's browser, fresh profiles, closed afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")  # apt's chromium (never `playwright install`: no download here)
_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu"]


@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture
def chromium(playwright, tmp_path):
    """``launch(**context_options) -> (context, page)``: a fresh persistent profile each call."""
    contexts = []

    def launch(**options):
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / f"profile-{len(contexts)}"),
            executable_path=str(CHROMIUM),
            args=_ARGS,
            headless=True,
            **options,
        )
        contexts.append(context)
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(20_000)
        return context, page

    yield launch
    for context in contexts:
        context.close()
