"""The wallet's service worker as the server writes it: the shell it keeps, under the root path,
and a cache version that changes whenever one of the kept files does (so the browser installs the
new worker, which fills a new cache and deletes the old)."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from verifier import wallet


@pytest.fixture
def static_copy(tmp_path, monkeypatch):
    copy = tmp_path / "static"
    shutil.copytree(wallet.STATIC_DIR, copy)
    monkeypatch.setattr(wallet, "STATIC_DIR", copy)
    caches = (wallet._page, wallet._manifest, wallet.shell_version, wallet._service_worker)
    for cached in caches:
        cached.cache_clear()
    yield copy
    for cached in caches:
        cached.cache_clear()


def worker(root: str) -> tuple[str, list[str]]:
    script = wallet._service_worker(root).decode()
    version = re.search(r'const VERSION = "([0-9a-f]{16})";', script).group(1)
    return version, json.loads(re.search(r"const SHELL = (\[.*?\]);", script).group(1))


def test_the_shell_is_the_page_its_manifest_and_existing_static_files(static_copy):
    version, shell = worker("/verifier")
    assert shell[:2] == ["/verifier/wallet", "/verifier/wallet/manifest.webmanifest"]
    assert all(path.startswith("/verifier/static/") for path in shell[2:])
    for path in shell[2:]:
        assert (static_copy / path.removeprefix("/verifier/static/")).is_file(), path
    page = wallet._page("/verifier").decode()
    for path in shell[2:]:
        if path.endswith((".js", ".css")) and not path.endswith("/jsQR.js"):  # jsQR: loaded by share.js on use
            assert f'"{path}"' in page, f"{path} is kept but the page does not load it"
    assert "__ROOT__" not in page and "__VERSION__" not in wallet._service_worker("/verifier").decode()


def test_a_changed_file_names_a_new_cache(static_copy):
    before, _ = worker("")
    wallet._service_worker.cache_clear()
    wallet.shell_version.cache_clear()
    assert worker("")[0] == before  # nothing changed, same cache
    script = static_copy / "wallet" / "wallet.js"
    script.write_text(script.read_text("utf-8") + "\n// changed\n", "utf-8")
    wallet._service_worker.cache_clear()
    wallet.shell_version.cache_clear()
    assert worker("")[0] != before
