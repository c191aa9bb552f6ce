"""certledger verify BUNDLE [--json]: exit 0 valid, 1 invalid, 2 could not decide."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from certledger.cli.context import App, CliError, pass_app

_COLOURS = {"VALID": "green", "INVALID": "red", "ERROR": "yellow", "SKIPPED": "bright_black"}


@click.command("verify")
@click.argument("bundle", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True, help="Language of the messages."
)
@pass_app
def verify_command(app: App, bundle: str, as_json: bool, lang: str) -> None:
    """Verify a credential bundle against the trusted deployments, reading only public chain state."""
    from ledger.verification import verify

    if bundle.startswith(("http://", "https://")):
        raise CliError("share links are verified by the verifier service; pass a bundle file here")
    raw = sys.stdin.buffer.read() if bundle == "-" else _read(Path(bundle))
    report = verify(raw, app.trust_roots(), app.chain_reader())
    if as_json:
        click.echo(json.dumps(report.to_json("zh-CN" if lang == "zh" else "en"), ensure_ascii=False, indent=2))
    else:
        _print_table(report, lang)
    raise click.exceptions.Exit(report.verdict.exit_code)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None


def _print_table(report, lang: str) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(emoji=False, highlight=False)  # "did:key:" must not become an emoji
    credential = report.credential
    if credential:
        issuer = credential.get("issuer") or {}
        agency = issuer.get("agency") or {}
        # the agency as the chain names it once the issuer check read it; the credential's claim until then
        who = (
            f"{agency.get('name')} ({agency.get('code')})"
            if agency.get("name")
            else f"{issuer.get('name') or ''} ({agency.get('code') or '?'}, {'not confirmed by the chain' if lang == 'en' else '未经链上确认'})"
        )
        console.print(
            f"[bold]{escape(str(credential.get('type')))}[/bold]  {escape(str(credential.get('id')))}  {escape(who)}"
        )
    table = Table(show_header=True, header_style="bold")
    table.add_column("check")
    table.add_column("status")
    table.add_column("code")
    table.add_column("message", overflow="fold")
    for check in report.checks:
        message = check.message_zh if lang == "zh" else check.message
        table.add_row(
            check.name, f"[{_COLOURS[check.status.value]}]{check.status.value}[/]", check.code, escape(message)
        )
    console.print(table)
    verdict = report.verdict.value
    console.print(f"verdict: [bold {_COLOURS[verdict]}]{verdict}[/]")


COMMANDS = [verify_command]
