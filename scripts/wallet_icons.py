"""Draw the wallet's icons (verifier/static/wallet/icon.svg, icon-192.png, icon-512.png).

One design in a 512-unit square, written once as SVG and painted with Pillow at each PNG size
(four times larger, then scaled down, for smooth edges). The document and its seal stay inside the
middle 80%, the safe zone of a maskable icon. Run: ``python scripts/wallet_icons.py``.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "verifier" / "static" / "wallet"
BLUE, WHITE, LINE, GOLD = "#0b4fb3", "#ffffff", "#9db8e3", "#e0a100"
PAGE = (136, 96, 376, 400)  # the certificate: x0, y0, x1, y1
LINES = [(176, 156, 336, 156), (176, 206, 336, 206), (176, 256, 286, 256)]
SEAL = (330, 330, 62)  # centre x, centre y, radius
CHECK = [(300, 332), (322, 354), (362, 310)]


def svg() -> str:
    x0, y0, x1, y1 = PAGE
    cx, cy, r = SEAL
    lines = "".join(
        f'<line x1="{a}" y1="{b}" x2="{c}" y2="{d}" stroke="{LINE}" stroke-width="20" stroke-linecap="round"/>'
        for a, b, c, d in LINES
    )
    check = " ".join(f"{x},{y}" for x, y in CHECK)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">'
        f'<rect width="512" height="512" rx="96" fill="{BLUE}"/>'
        f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" rx="20" fill="{WHITE}"/>'
        f"{lines}"
        f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="{GOLD}" stroke="{WHITE}" stroke-width="12"/>'
        f'<polyline points="{check}" fill="none" stroke="{WHITE}" stroke-width="20" '
        'stroke-linecap="round" stroke-linejoin="round"/>'
        "</svg>\n"
    )


def png(size: int) -> Image.Image:
    k = size * 4 / 512
    big = Image.new("RGBA", (size * 4, size * 4), (0, 0, 0, 0))
    d = ImageDraw.Draw(big)

    def s(*values: float) -> list[float]:
        return [v * k for v in values]

    d.rounded_rectangle(s(0, 0, 512, 512), radius=96 * k, fill=BLUE)
    d.rounded_rectangle(s(*PAGE), radius=20 * k, fill=WHITE)
    for a, b, c, e in LINES:
        d.line(s(a, b, c, e), fill=LINE, width=round(20 * k))
        for x, y in ((a, b), (c, e)):  # round caps
            d.ellipse(s(x - 10, y - 10, x + 10, y + 10), fill=LINE)
    cx, cy, r = SEAL
    d.ellipse(s(cx - r - 6, cy - r - 6, cx + r + 6, cy + r + 6), fill=WHITE)
    d.ellipse(s(cx - r + 6, cy - r + 6, cx + r - 6, cy + r - 6), fill=GOLD)
    d.line([tuple(s(x, y)) for x, y in CHECK], fill=WHITE, width=round(20 * k), joint="curve")
    for x, y in (CHECK[0], CHECK[-1]):
        d.ellipse(s(x - 10, y - 10, x + 10, y + 10), fill=WHITE)
    return big.resize((size, size), Image.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "icon.svg").write_text(svg(), "utf-8")
    for size in (192, 512):
        png(size).save(OUT / f"icon-{size}.png", optimize=True)


if __name__ == "__main__":
    main()
