"""The citizen's wallet, ``/wallet``: a page that keeps certificates in the browser (IndexedDB),
an installable PWA with a service worker that opens it offline.

=================================  ======================================================================
``GET /wallet``                    the page (``static/wallet/``): add from a share link, a QR image or a file
``GET /wallet/sw.js``              the service worker; its cache is named by a hash of the shell it keeps
``GET /wallet/manifest.webmanifest``  the web app manifest (installable, zh and en name)
=================================  ======================================================================

Everything happens in the browser: the share is decrypted there and the share QR code drawn there,
so the link's key never reaches the server; the only request with a certificate in it is
``POST /verify``. The routes are public and read-only, like the verification page.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
SW_TEMPLATE = HERE / "wallet_sw.js"

# The verification page's policy; the manifest and the worker come from this origin too.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; manifest-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-cache",
}

# What the service worker keeps so that the wallet opens offline (paths under the root path).
SHELL_FILES = (
    "static/style.css",
    "static/render.css",
    "static/render.js",
    "static/i18n.js",
    "static/share.js",
    "static/vendor/qrcode-generator.js",
    "static/vendor/jsQR.js",
    "static/wallet/wallet.css",
    "static/wallet/wallet-i18n.js",
    "static/wallet/wallet.js",
    "static/wallet/icon.svg",
    "static/wallet/icon-192.png",
    "static/wallet/icon-512.png",
)

NAME = {"en": "CertLedger certificate wallet", "zh-CN": "CertLedger 证书钱包"}

_HTML = {"text/html": {"schema": {"type": "string"}}}
PAGE_DOC: dict[str, Any] = {
    "summary": "The wallet page",
    "responses": {200: {"description": "The wallet page; certificates stay in the browser", "content": _HTML}},
}
SW_DOC: dict[str, Any] = {
    "summary": "The wallet's service worker",
    "responses": {
        200: {
            "description": "The service worker (scope: the wallet page), its cache versioned by the shell's hash",
            "content": {"text/javascript": {"schema": {"type": "string"}}},
            "headers": {"Service-Worker-Allowed": {"schema": {"type": "string"}}},
        }
    },
}
MANIFEST_DOC: dict[str, Any] = {
    "summary": "The wallet's web app manifest",
    "responses": {
        200: {
            "description": "The web app manifest",
            "content": {
                "application/manifest+json": {
                    "schema": {"type": "object", "required": ["name", "start_url", "scope", "icons"]}
                }
            },
        }
    },
}

router = APIRouter()


@router.get("/wallet", response_class=HTMLResponse, **PAGE_DOC)
async def wallet_page(request: Request) -> Response:
    return Response(_page(_root(request)), media_type="text/html; charset=utf-8", headers=HEADERS)


@router.get("/wallet/sw.js", **SW_DOC)
async def service_worker(request: Request) -> Response:
    root = _root(request)
    # Served from /wallet/, its default scope would be /wallet/ only, which does not cover /wallet.
    headers = {**HEADERS, "Service-Worker-Allowed": f"{root}/wallet"}
    return Response(_service_worker(root), media_type="text/javascript; charset=utf-8", headers=headers)


@router.get("/wallet/manifest.webmanifest", **MANIFEST_DOC)
async def manifest(request: Request) -> Response:
    return Response(_manifest(_root(request)), media_type="application/manifest+json", headers=HEADERS)


def _root(request: Request) -> str:
    return str(request.app.state.settings.root_path)


@lru_cache(maxsize=4)
def _page(root: str) -> bytes:
    html = (STATIC_DIR / "wallet" / "wallet.html").read_text("utf-8")
    return html.replace("__ROOT__", root).encode("utf-8")


@lru_cache(maxsize=4)
def _manifest(root: str) -> bytes:
    icon = f"{root}/static/wallet/icon"
    return json.dumps(
        {
            "name": f"{NAME['zh-CN']} · {NAME['en']}",
            "short_name": "证书钱包 Wallet",
            "description": "保存并出示您的电子证书 · Keep and show your certificates",
            "lang": "zh-CN",
            "id": f"{root}/wallet",
            "start_url": f"{root}/wallet",
            "scope": f"{root}/wallet",
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": "#0b4fb3",
            "icons": [
                {"src": f"{icon}.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
                {"src": f"{icon}-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
                {"src": f"{icon}-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any maskable"},
            ],
        },
        ensure_ascii=False,
    ).encode("utf-8")


def shell(root: str) -> list[str]:
    """The paths the service worker keeps: the page, its manifest and its static files."""
    return [f"{root}/wallet", f"{root}/wallet/manifest.webmanifest", *(f"{root}/{path}" for path in SHELL_FILES)]


@lru_cache(maxsize=4)
def shell_version(root: str) -> str:
    """A hash of everything the worker caches: a new version of any file names a new cache."""
    digest = hashlib.sha256(_page(root) + _manifest(root))
    for path in SHELL_FILES:
        digest.update(path.encode() + b"\0" + (STATIC_DIR / path.removeprefix("static/")).read_bytes())
    return digest.hexdigest()[:16]


@lru_cache(maxsize=4)
def _service_worker(root: str) -> bytes:
    script = SW_TEMPLATE.read_text("utf-8")
    script = script.replace("__VERSION__", shell_version(root)).replace("__SHELL__", json.dumps(shell(root)))
    return script.encode("utf-8")


__all__ = ["router", "shell", "shell_version"]
