"""certledger render BUNDLE [--pdf out.pdf] [--lang zh|en] [--reveal]: the certificate as a document.

The bundle is verified first (as `certledger verify` does), so the page names the agency as the
chain records it and says what the check found. Without --pdf the laid-out certificate is printed as
a table; sensitive fields are masked unless --reveal. Exit code as `verify`: 0 valid, 1 invalid,
2 undecided.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from certledger.cli.context import App, CliError, pass_app
from certledger.cli.issue_cmds import VERIFIER_URL


@click.command("render")
@click.argument("bundle")
@click.option("--pdf", "pdf_file", type=click.Path(dir_okay=False, path_type=Path), help="Write an A4 PDF here.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--reveal", is_flag=True, help="Show sensitive fields in full (they are masked by default).")
@click.option("--link", default=None, help="The share link for the QR code (default: BUNDLE when it is one).")
@click.option(
    "--verifier-url",
    default=VERIFIER_URL,
    show_default=True,
    help="Where the QR code points when there is no share link: the verifier's page, which takes the file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the laid-out certificate as JSON (times in UTC).")
@pass_app
def render_command(
    app: App,
    bundle: str,
    pdf_file: Path | None,
    lang: str,
    reveal: bool,
    link: str | None,
    verifier_url: str,
    as_json: bool,
) -> None:
    """Lay out the certificate in BUNDLE (a file, - or a share link) by its own layout; print it, or --pdf."""
    from certledger.cli.verify_cmds import Undecided, _content_store
    from ledger.protocol.layout import render
    from ledger.verification import verify
    from ledger.verification.inputs import expand, is_share_link

    store = _content_store(app) if is_share_link(bundle) else None
    items, _ = expand([bundle], sys.stdin.buffer, store)
    item = items[0]
    if item.problem is not None or item.data is None:
        raise (Undecided if item.code == "SHARE_LINK" else CliError)(item.problem or "nothing to render")
    report = verify(item.data, app.trust_roots(), app.chain_reader())
    try:
        credential = json.loads(item.data)["credential"]
        if not isinstance(credential, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise CliError(f"{item.source}: not a bundle with a credential ({report.verdict.value})") from None
    summary = report.to_json("zh-CN" if lang == "zh" else "en")
    if pdf_file is not None:
        from ledger.verification.document import certificate_pdf

        pdf = certificate_pdf(
            credential,
            summary,
            lang=lang,
            reveal=reveal,
            link=link or (bundle if is_share_link(bundle) else None),
            verifier_url=verifier_url,
        )
        pdf_file.write_bytes(pdf)
        click.echo(f"{pdf_file}: {report.verdict.value}, {len(pdf):,} bytes", err=True)
    else:
        shown = render(credential, lang, reveal=reveal)
        if as_json:
            click.echo(json.dumps(_as_json(shown, credential, summary), ensure_ascii=False, indent=2))
        else:
            _print(shown, summary, lang, reveal)
    raise click.exceptions.Exit(report.verdict.exit_code)


def _as_json(shown, credential: dict, summary: dict) -> dict:
    return {
        "verdict": summary.get("verdict"),
        "type": shown.type_name,
        "title": shown.title,
        "layout": shown.source,
        "layoutProblem": shown.problem,
        "statement": "".join(part for part, _ in shown.statement) or None,
        "sections": [
            {
                "heading": s.heading or None,
                "fields": [
                    {"label": f.label, "value": f.text, "sensitive": f.sensitive, "path": f.path} for f in s.fields
                ],
            }
            for s in shown.sections
        ],
        "issuer": (summary.get("credential") or {}).get("issuer"),
        "validFrom": credential.get("validFrom"),
        "validUntil": credential.get("validUntil"),
        "anchoredAt": (summary.get("credential") or {}).get("anchoredAt"),
    }


def _print(shown, summary: dict, lang: str, reveal: bool) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from ledger.verification.document import local_time

    zh = lang == "zh"
    console = Console(emoji=False, highlight=False)
    table = Table(title=escape(shown.title), show_header=False, title_style="bold")
    table.add_column("label", style="bold")
    table.add_column("value", overflow="fold")
    if shown.problem:
        console.print(f"[yellow]{escape(shown.problem)}[/]")
    if shown.statement:
        table.caption = escape("".join(part for part, _ in shown.statement))
    for section in shown.sections:
        if section.heading:
            table.add_section()
            table.add_row(f"[underline]{escape(section.heading)}[/]", "")
        for item in section.fields:
            table.add_row(
                escape(item.label), escape(item.text) + (" [dim](--reveal)[/]" if item.sensitive and not reveal else "")
            )
    console.print(table)
    about = summary.get("credential") or {}
    agency = (about.get("issuer") or {}).get("agency") or {}
    if summary.get("verdict") == "VALID" and agency.get("name"):
        console.print(
            f"{'签发机构' if zh else 'issued by'}: {escape(agency['name'])} ({escape(agency.get('code') or '')})"
        )
    if about.get("anchoredAt"):
        console.print(f"{'上链存证时间' if zh else 'anchored'}: {local_time(about['anchoredAt'], None)}")
    colour = {"VALID": "green", "INVALID": "red"}.get(summary.get("verdict") or "", "yellow")
    console.print(f"verdict: [bold {colour}]{summary.get('verdict')}[/]")


COMMANDS = [render_command]
