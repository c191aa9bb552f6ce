"""certledger verify BUNDLE... [--json]: exit 0 all valid, 1 any invalid, 2 any could not be decided.

One bundle (a file, a share link, or ``-`` holding one) prints its report as it always did; several
(files, directories, ``bundles.jsonl``, JSON Lines on ``-``) are verified on every core
(``ledger.verification.many``) with a progress bar and end with a summary table. Heavy modules are
imported inside the function: ``certledger verify`` of one bundle must start fast.
"""

from __future__ import annotations

import json
import sys

import click

from certledger.cli.context import App, CliError, pass_app

_COLOURS = {"VALID": "green", "INVALID": "red", "ERROR": "yellow", "SKIPPED": "bright_black"}


class Undecided(CliError):
    """Nothing to verify could be had (a share link that could not be opened): could not decide."""

    exit_code = 2


@click.command("verify")
@click.argument("bundles", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (several bundles: one per line).")
@click.option(
    "--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True, help="Language of the messages."
)
@click.option(
    "--processes", type=click.IntRange(min=1), default=None, help="Worker processes for many bundles [every core]."
)
@pass_app
def verify_command(app: App, bundles: tuple[str, ...], as_json: bool, lang: str, processes: int | None) -> None:
    """Verify credential bundles against the trusted deployments, reading only public chain state.

    BUNDLES: files, directories (their *.json), a bundles.jsonl (one bundle per line), share links
    (opened and decrypted here; the key never leaves this machine), or - for standard input."""
    from ledger.verification.inputs import expand, is_share_link

    store = _content_store(app) if any(is_share_link(b) for b in bundles) else None
    items, single = expand(list(bundles), sys.stdin.buffer, store)
    language = "zh-CN" if lang == "zh" else "en"
    if single:
        _verify_one(app, items[0], as_json, lang, language)
    _verify_many(app, items, as_json, lang, language, processes)


def _content_store(app: App):
    """The configured IPFS node, where a share can be fetched when the link's verifier cannot give it."""
    api = app.environment.ipfs_api
    if not api:
        return None
    from ledger.content.ipfs_store import IpfsContentStore

    return IpfsContentStore(api)


def _verify_one(app: App, item, as_json: bool, lang: str, language: str) -> None:
    from ledger.verification import verify

    if item.problem is not None:
        raise (Undecided if item.code == "SHARE_LINK" else CliError)(item.problem)
    report = verify(item.data, app.trust_roots(), app.chain_reader())
    if as_json:
        click.echo(json.dumps(report.to_json(language), ensure_ascii=False, indent=2))
    else:
        _print_table(report, lang)
    raise click.exceptions.Exit(report.verdict.exit_code)


def _verify_many(app: App, items: list, as_json: bool, lang: str, language: str, processes: int | None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ledger.verification.many import Tally, verify_all

    out = Console(emoji=False, highlight=False)
    err = Console(stderr=True, emoji=False, highlight=False)
    tally = Tally()
    outcomes = verify_all(items, app.trust_roots(), app.chain_reader(), language if as_json else None, processes)
    columns = (TextColumn("verifying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, disable=not (err.is_terminal and len(items) > 1)) as progress:
        task = progress.add_task("verify", total=len(items))
        for outcome in outcomes:
            tally.add(outcome)
            if as_json:
                click.echo(outcome.report)
            elif outcome.verdict != "VALID":
                colour = _COLOURS[outcome.verdict]
                codes = ", ".join(code for _, code in outcome.problems)
                out.print(
                    f"{escape(outcome.source)}: [{colour}]{outcome.verdict}[/] {escape(codes)}: {escape(outcome.message)}",
                    soft_wrap=True,  # one line per bundle, whatever the width: output people grep
                )
            progress.advance(task)
    _print_summary(err if as_json else out, tally, lang)
    raise click.exceptions.Exit(tally.exit_code)


def _print_summary(console, tally, lang: str) -> None:
    from rich.table import Table

    zh = lang == "zh"
    title = f"共核验 {tally.total:,} 份" if zh else f"{tally.total:,} verified"
    table = Table(title=title, show_header=True, header_style="bold")
    for name in ("结论", "检查", "代码", "数量") if zh else ("verdict", "check", "code", "count"):
        table.add_column(name, justify="right" if name in ("count", "数量") else "left")
    for verdict in ("VALID", "INVALID", "ERROR"):
        count = tally.verdicts.get(verdict, 0)
        if not count:
            continue
        table.add_row(f"[bold {_COLOURS[verdict]}]{verdict}[/]", "", "", f"{count:,}")
        for (v, check, code), n in sorted(tally.codes.items(), key=lambda kv: (-kv[1], kv[0])):
            if v == verdict:
                table.add_row("", check, code, f"{n:,}")
    console.print(table)


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
