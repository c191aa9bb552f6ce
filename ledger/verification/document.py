"""The printable certificate: one A4 page made from a bundle and its verification report.

The certificate laid out by its own layout (``ledger.protocol.layout``, docs/protocol.md §14), the
agency's name as the chain records it, the anchor time, the verdict when printed, and a QR code
carrying the share link — or, for a bundle without one, the verifier's address, where the bundle
file can be uploaded. Used by ``certledger render --pdf`` and the verifier's ``POST /render/pdf``.

Every text is drawn with the canvas' plain text calls, never through reportlab's paragraph
markup, so a claim such as ``<img src="/etc/passwd"/>`` is printed as those characters. Chinese is
set in reportlab's built-in CID font STSong-Light (Adobe-GB1), which every PDF reader supplies.
reportlab and qrcode are imported on first use.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ledger.protocol.layout import Rendered, render

FONT = "STSong-Light"
LATIN = "Times-Roman"  # a text of Latin-1 only looks better in a base-14 font every reader has


def font_for(text: str) -> str:
    return LATIN if all(ord(ch) < 256 for ch in text) else FONT


_WORDS = {
    "en": {
        "issuedBy": "Issued by (as recorded on chain)",
        "claimedBy": "Issued by (as the credential claims; not confirmed)",
        "anchored": "Anchored on the ledger",
        "notAnchored": "not anchored",
        "id": "Certificate ID",
        "checked": "Checked {when}: {verdict}",
        "scanLink": "Scan to verify this certificate",
        "scanUpload": "Verify the certificate file at",
        "masked": "Fields marked * are partly hidden for privacy (display only).",
        "note": "Printed from a CertLedger credential. The printout proves nothing by itself: scan the QR code"
        " to verify the signed original against the public ledger.",
        "layoutProblem": "The certificate's own layout could not be used ({why}); all its claims are shown.",
    },
    "zh": {
        "issuedBy": "签发机构（链上登记名称）",
        "claimedBy": "签发机构（证书自称，未经链上确认）",
        "anchored": "上链存证时间",
        "notAnchored": "未存证",
        "id": "证书编号",
        "checked": "{when} 核验结果：{verdict}",
        "scanLink": "扫码验证本证书",
        "scanUpload": "请在以下网址上传证书文件验证",
        "masked": "带 * 的字段已部分隐藏以保护隐私（仅影响显示）。",
        "note": "本页由 CertLedger 电子证书打印。打印件本身不具证明力：请扫描二维码，对照公共账本核验签名原件。",
        "layoutProblem": "无法使用证书自带的版式（{why}），以下显示其全部声明。",
    },
}
_VERDICT = {
    "en": {"VALID": "VALID", "INVALID": "NOT VALID", "ERROR": "COULD NOT VERIFY"},
    "zh": {"VALID": "有效", "INVALID": "无效", "ERROR": "无法验证"},
}


def local_time(iso: str, offset_minutes: int | None) -> str:
    """``2026-12-07T11:50:23Z`` as ``2026-12-07 19:50 (UTC+08:00)`` in the reader's zone (this
    machine's when ``offset_minutes`` is None)."""
    try:
        when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    zone = timezone(timedelta(minutes=offset_minutes)) if offset_minutes is not None else None
    here = when.astimezone(zone)
    offset = here.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{here:%Y-%m-%d %H:%M} (UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d})"


def _wrap(text: str, width: float, size: float, font: str = FONT) -> list[str]:
    """Lines of ``text`` no wider than ``width``: broken at a space where there is one, else anywhere
    (Chinese has no spaces)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for ch in paragraph:
            if stringWidth(line + ch, font, size) <= width or not line:
                line += ch
                continue
            cut = line.rfind(" ")
            if cut > len(line) // 2:
                lines.append(line[:cut])
                line = line[cut + 1 :] + ch
            else:
                lines.append(line)
                line = ch
        lines.append(line)
    return lines


def _qr(canvas, text: str, x: float, y: float, size: float) -> None:
    """A QR code of ``text`` (level M, quiet zone of 4 modules) with its lower-left corner at (x, y)."""
    import qrcode
    import qrcode.constants

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(text.encode("utf-8"))
    qr.make(fit=True)
    matrix = qr.get_matrix()
    module = size / len(matrix)
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                canvas.rect(x + c * module, y + size - (r + 1) * module, module, module, stroke=0, fill=1)


def certificate_pdf(
    credential: Mapping[str, Any],
    report: Mapping[str, Any],
    *,
    lang: str = "en",
    reveal: bool = False,
    link: str | None = None,
    verifier_url: str | None = None,
    tz_offset_minutes: int | None = None,
    now: datetime | None = None,
) -> bytes:
    """The A4 PDF of ``credential``; ``report`` is its verification report (``Report.to_json()``).
    The QR code carries ``link`` when given, else ``verifier_url``."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen.canvas import Canvas

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    lang = "zh" if lang.lower().startswith("zh") else "en"
    words = _WORDS[lang]
    shown: Rendered = render(credential, lang, reveal=reveal)
    summary = report.get("credential") or {}
    verdict = str(report.get("verdict"))
    verdict = verdict if verdict in ("VALID", "INVALID", "ERROR") else "ERROR"

    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(shown.title)
    canvas.setCreator("CertLedger")
    width, height = A4
    margin = 22 * mm
    inner = width - 2 * margin
    gold = (0.55, 0.42, 0.18)

    # the frame: a double rule, as on paper certificates
    canvas.setStrokeColorRGB(*gold)
    canvas.setLineWidth(2)
    canvas.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    canvas.setLineWidth(0.6)
    canvas.rect(14.5 * mm, 14.5 * mm, width - 29 * mm, height - 29 * mm)

    y = height - 34 * mm

    def text(s: str, size: float, *, x: float = margin, centre: bool = False, colour=(0, 0, 0), gap: float = 1.45):
        nonlocal y
        font = font_for(s)
        canvas.setFont(font, size)
        canvas.setFillColorRGB(*colour)
        for line in _wrap(s, inner - (x - margin), size, font):
            if centre:
                canvas.drawCentredString(width / 2, y, line)
            else:
                canvas.drawString(x, y, line)
            y -= size * gap

    issuer = summary.get("issuer") or {}
    agency = issuer.get("agency") or {}
    found = credential.get("issuer")
    claimed: dict[str, Any] = found if isinstance(found, dict) else {}
    on_chain = agency.get("name") if verdict == "VALID" else None
    text(on_chain or str(claimed.get("name") or ""), 12, centre=True, colour=(0.3, 0.3, 0.3))
    y -= 3 * mm
    text(shown.title, 26, centre=True, colour=gold)
    y -= 2 * mm
    canvas.setStrokeColorRGB(*gold)
    canvas.line(margin + 30 * mm, y + 4 * mm, width - margin - 30 * mm, y + 4 * mm)
    y -= 6 * mm
    if shown.problem:
        text(words["layoutProblem"].format(why=shown.problem), 9, colour=(0.5, 0.25, 0))
    if shown.statement:
        text("".join(part for part, _ in shown.statement), 13, gap=1.7)
        y -= 4 * mm

    masked = False
    for section in shown.sections:
        if section.heading:
            text(section.heading, 12, colour=gold)
            y -= 1 * mm
        for item in section.fields:
            label_width = 48 * mm
            label = item.label + (" *" if item.sensitive and not reveal else "")
            canvas.setFont(font_for(label), 10)
            canvas.setFillColorRGB(0.35, 0.35, 0.35)
            masked = masked or (item.sensitive and not reveal)
            canvas.drawString(margin, y, label)
            top = y
            text(item.text, 11, x=margin + label_width, gap=1.45)
            y = min(y, top - 11 * 1.45)
            y -= 1.5 * mm
        y -= 3 * mm

    # the record: who, when, what the verifier said, and where to check again
    qr_size = 42 * mm
    base = 24 * mm
    y = base + qr_size - 4 * mm
    record_width = inner - qr_size - 8 * mm
    canvas.setStrokeColorRGB(*gold)
    canvas.line(margin, base + qr_size + 4 * mm, width - margin, base + qr_size + 4 * mm)

    def record(label: str, value: str) -> None:
        nonlocal y
        canvas.setFont(font_for(label), 8)
        canvas.setFillColorRGB(0.35, 0.35, 0.35)
        canvas.drawString(margin, y, label)
        y -= 10
        canvas.setFillColorRGB(0, 0, 0)
        font = font_for(value)
        for line in _wrap(value, record_width, 9, font):
            canvas.setFont(font, 9)
            canvas.drawString(margin, y, line)
            y -= 12
        y -= 2

    code = agency.get("code") or ""
    if on_chain:
        record(words["issuedBy"], f"{on_chain} ({code})" if code else on_chain)
    else:
        record(words["claimedBy"], str(claimed.get("name") or ""))
    anchored = summary.get("anchoredAt")
    record(words["anchored"], local_time(anchored, tz_offset_minutes) if anchored else words["notAnchored"])
    record(words["id"], str(credential.get("id") or ""))
    checked = local_time((now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"), tz_offset_minutes)
    record("", words["checked"].format(when=checked, verdict=_VERDICT[lang][verdict]))

    target = link or verifier_url
    if target:
        _qr(canvas, target, width - margin - qr_size, base, qr_size)
        caption = words["scanLink"] if link else f"{words['scanUpload']} {verifier_url}"
        canvas.setFont(font_for(caption), 7)
        canvas.setFillColorRGB(0.2, 0.2, 0.2)
        ty = base - 9
        for line in _wrap(caption, qr_size + 10 * mm, 7, font_for(caption)):
            canvas.drawRightString(width - margin, ty, line)
            ty -= 9

    foot = (words["masked"] + " " if masked else "") + words["note"]
    canvas.setFont(font_for(foot), 7)
    canvas.setFillColorRGB(0.35, 0.35, 0.35)
    fy = 21 * mm
    for line in _wrap(foot, inner - qr_size - 12 * mm, 7, font_for(foot)):
        canvas.drawString(margin, fy, line)
        fy -= 9
    canvas.showPage()
    canvas.save()
    return out.getvalue()


__all__ = ["certificate_pdf", "local_time"]
