"""The transparency pages' charts: SVG drawn by the server, no chart library and no script.

Each function returns the markup of one ``<svg>`` element with a ``<title>`` and a text table
fallback left to the page. Every text placed in a chart goes through :func:`html.escape`; numbers
are formatted here. Colours are presentation attributes (the pages' CSP allows no inline style).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 12, 40
BLUE, ORANGE, RED, GREY, GREEN = "#0b4fb3", "#c26a00", "#b3261e", "#6b7684", "#2e7d43"


def _nice_max(value: int) -> int:
    """The y axis's top: four equal whole steps of 1, 2, 2.5 or 5 times a power of ten."""
    magnitude = 1
    while True:
        steps = (1, 2, 5) if magnitude == 1 else (magnitude, 2 * magnitude, 5 * magnitude // 2, 5 * magnitude)
        for step in steps:
            if 4 * step >= value:
                return 4 * step
        magnitude *= 10


def bar_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[int]]],
    title: str,
) -> str:
    """Grouped bars: one group per label, one bar per series (name, colour, values), with a y axis
    and a legend. Labels are thinned so that they never overlap."""
    n = max(len(labels), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_max(max((v for _, _, values in series for v in values), default=0))
    group_w = plot_w / n
    bar_w = max(group_w * 0.8 / max(len(series), 1), 0.5)
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for i in range(5):  # y grid
        y = TOP + plot_h - plot_h * i / 4
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e1e6ec"/>')
        out.append(
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{GREY}">'
            f"{top * i // 4:,}</text>"  # top is a multiple of four: whole ticks
        )
    for s, (_, colour, values) in enumerate(series):
        for i, v in enumerate(values):
            if v <= 0:
                continue
            h = plot_h * v / top
            x = LEFT + i * group_w + group_w * 0.1 + s * bar_w
            out.append(
                f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar_w:.1f}" height="{max(h, 1):.1f}" '
                f'fill="{colour}"><title>{escape(labels[i])}: {v:,}</title></rect>'
            )
    every = max(1, -(-n // 8))  # at most about eight labels under the axis
    for i in range(0, len(labels), every):
        x = LEFT + i * group_w + group_w / 2
        out.append(
            f'<text x="{x:.1f}" y="{TOP + plot_h + 14}" text-anchor="middle" font-size="11" fill="{GREY}">'
            f"{escape(labels[i])}</text>"
        )
    for s, (name, colour, _) in enumerate(series):
        x = LEFT + s * 190
        out.append(f'<rect x="{x}" y="{HEIGHT - 14}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{x + 14}" y="{HEIGHT - 5}" font-size="12" fill="#1b1f24">{escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def hbar_chart(rows: Sequence[tuple[str, int, str]], title: str) -> str:
    """Horizontal bars, one per (label, value, colour): the status changes by reason."""
    row_h, label_w = 26, 220
    height = TOP + row_h * max(len(rows), 1) + 8
    top = max((v for _, v, _ in rows), default=1) or 1
    plot_w = WIDTH - label_w - 60
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for i, (label, value, colour) in enumerate(rows):
        y = TOP + i * row_h
        w = max(plot_w * value / top, 1)
        out.append(
            f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" font-size="12" fill="#1b1f24">'
            f"{escape(label)}</text>"
        )
        out.append(f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="16" fill="{colour}"/>')
        out.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" font-size="12" fill="#1b1f24">{value:,}</text>')
    out.append("</svg>")
    return "".join(out)


def _ts(text: str | None) -> int | None:
    if text is None or not text.endswith("Z"):
        return None
    return int(dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp())


def key_timeline(keys: Sequence[dict], now: int, title: str, legend: tuple[str, str, str]) -> str:
    """One line per key, from valid-from to revoked-at (or now). A compromised key (revoked as of a
    past time) shows the stretch between revoked-at and when that was recorded in red: signatures of
    that stretch were trusted then and are not now."""
    row_h, label_w = 30, 120
    height = TOP + row_h * max(len(keys), 1) + 40
    starts = [t for k in keys if (t := _ts(k["validFrom"])) is not None]
    times = [t for k in keys for f in ("addedAt", "revokedAt", "revocationRecordedAt") if (t := _ts(k[f])) is not None]
    now = max([now, *times])  # the chain's clock may run ahead of this one (a test chain's may)
    start = min(starts + [now])
    span = max(now - start, 1)
    plot_w = WIDTH - label_w - RIGHT

    def x(t: int) -> float:
        return label_w + plot_w * (min(max(t, start), now) - start) / span

    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for i, k in enumerate(keys):
        y = TOP + i * row_h
        valid = _ts(k["validFrom"]) or start
        revoked = _ts(k["revokedAt"])
        recorded = _ts(k["revocationRecordedAt"])
        end = revoked if revoked is not None else now
        out.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="11" fill="#1b1f24" '
            f'font-family="monospace">{escape(k["publicKey"][:10])}…</text>'
        )
        colour = GREY if revoked is not None else GREEN
        out.append(
            f'<rect x="{x(valid):.1f}" y="{y + 4}" width="{max(x(end) - x(valid), 2):.1f}" height="14" '
            f'fill="{colour}"><title>{escape(k["validFrom"])} – {escape(k["revokedAt"] or "")}</title></rect>'
        )
        if k["compromised"] and revoked is not None and recorded is not None:
            out.append(
                f'<rect x="{x(revoked):.1f}" y="{y + 4}" width="{max(x(recorded) - x(revoked), 2):.1f}" '
                f'height="14" fill="{RED}"/>'
            )
    ly = height - 16
    for j, (label, colour) in enumerate(zip(legend, (GREEN, GREY, RED), strict=True)):
        lx = label_w + j * 170
        out.append(f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{lx + 14}" y="{ly}" font-size="12" fill="#1b1f24">{escape(label)}</text>')
    out.append("</svg>")
    return "".join(out)


__all__ = ["bar_chart", "hbar_chart", "key_timeline", "BLUE", "ORANGE", "RED", "GREY", "GREEN"]
