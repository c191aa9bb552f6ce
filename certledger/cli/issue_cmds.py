"""certledger type add | issue | issue-bulk | revoke | suspend | reinstate | share — as an agency of
this data directory (its keys are here), straight on the library, no server needed."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import click

from certledger.cli.context import App, CliError, pass_app
from ledger.protocol.bundle import BundleFormatError, parse_bundle
from ledger.protocol.credential import check_credential
from ledger.protocol.errors import ValidationError

REASONS = {
    "unspecified": 0,
    "superseded": 1,
    "issued-in-error": 2,
    "key-compromise": 3,
    "holder-request": 4,
    "administrative": 5,
    "expired-by-law": 6,
}


def _issuance(app: App):
    from ledger.issuance.assembly import issuance_for

    return issuance_for(app.settings, app.rpc_urls())


def _agency(ctx, code: str | None) -> str:
    from sqlmodel import Session, select

    from ledger.storage import AgencyRecord

    if code:
        return code
    with Session(ctx.engine) as session:
        codes = list(session.exec(select(AgencyRecord.code)))
    if len(codes) != 1:
        raise CliError(f"name the agency with --agency (this data directory has {', '.join(codes) or 'none'})")
    return codes[0]


def _read_json(path: Path, what: str):
    try:
        return json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise CliError(f"{what} {path} is not JSON: {exc}") from None


def _flush_anchor(ctx, timeout_s: float = 120.0) -> None:
    """Anchor everything pending now (this process takes the lease, or waits for the worker holding it)."""
    from ledger.issuance import anchor_pending

    try:
        anchor_pending(ctx, timeout_s)
    except TimeoutError as exc:
        raise CliError(str(exc)) from None


def _validation(exc: ValidationError) -> CliError:
    return CliError("\n  ".join(["invalid input:"] + [f"{e.field}: {e.reason}" for e in exc.errors]))


@click.group("type")
def type_group() -> None:
    """Credential types and their JSON Schemas."""


@type_group.command("add")
@click.argument("name")
@click.option("--schema", "schema_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--template",
    "template_file",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Its display layout (JSON, docs/protocol.md §14), signed into each credential; default: made from the schema.",
)
@click.option("--description", default="")
@pass_app
def type_add(app: App, name: str, schema_file: Path, template_file: Path | None, description: str) -> None:
    """Register credential type NAME whose credentialSubject follows the JSON Schema in --schema."""
    from ledger.issuance import register_type
    from ledger.issuance.context import IssuanceContext
    from ledger.protocol.credential_types import CredentialType
    from ledger.protocol.layout import LAYOUT_KEYWORD

    schema = _read_json(schema_file, "schema")
    if template_file is not None and isinstance(schema, dict):
        schema[LAYOUT_KEYWORD] = _read_json(template_file, "template")  # kept with the type, in its schema
    try:
        ctype = CredentialType(name, schema, description)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    register_type(IssuanceContext.from_settings(app.settings, app.rpc_urls()), ctype, actor="cli")
    click.echo(f"type {name} registered (typeId 0x{ctype.type_id.hex()}); grant it with `certledger agency register`")


@click.command("issue")
@click.option("--agency", default=None, help="Issuing agency code (default: the only agency here).")
@click.option("--type", "type_name", required=True)
@click.option("--subject", "subject_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--valid-until", default=None, help="XML Schema dateTime in UTC, e.g. 2030-01-01T00:00:00Z")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def issue(
    app: App, agency: str | None, type_name: str, subject_file: Path, valid_until: str | None, out_file: Path
) -> None:
    """Issue one credential, anchor it, and write its bundle."""
    from ledger.issuance import get_bundle, issue_one

    ctx, _ = _issuance(app)
    code = _agency(ctx, agency)
    try:
        issued = issue_one(
            ctx, code, type_name, _read_json(subject_file, "subject"), valid_until=valid_until, actor="cli"
        )
    except ValidationError as exc:
        raise _validation(exc) from None
    _flush_anchor(ctx)
    out_file.write_bytes(get_bundle(ctx, code, issued.id).to_bytes())
    click.echo(f"issued {issued.id} ({type_name}), anchored; bundle: {out_file}")


VERIFIER_URL = "http://127.0.0.1:8080"  # where share links point unless told otherwise (`serve verifier`)


@click.command("issue-bulk")
@click.option("--agency", default=None, help="Issuing agency code (default: the only agency here).")
@click.option("--type", "type_name", required=True)
@click.option("--csv", "csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--jsonl", "jsonl_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the bundles (bundles.jsonl, one per line) and links.csv go.",
)
@click.option(
    "--files",
    "one_file_each",
    is_flag=True,
    help="One file per bundle (NNNNNN.json, by row) instead of bundles.jsonl: slow for large uploads.",
)
@click.option("--verifier-url", default=VERIFIER_URL, show_default=True, help="The verifier the share links name.")
@click.option("--all-or-nothing", is_flag=True, help="Refuse the whole file if any row is invalid.")
@pass_app
def issue_bulk(
    app: App,
    agency,
    type_name,
    csv_file,
    jsonl_file,
    out_dir: Path,
    one_file_each: bool,
    verifier_url: str,
    all_or_nothing: bool,
) -> None:
    """Issue one credential per row (CSV header = subject fields), anchor them in one batch, and write
    their bundles and share links (links.csv: row, credential id, link) to --out-dir."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ledger.content.links import ShareLinkError, normalise_verifier_url
    from ledger.issuance import BulkRejected, issue_file
    from ledger.issuance.delivery import sink_of
    from ledger.issuance.upload_output import LINKS_NAME, UploadOutput, earlier_output

    if bool(csv_file) == bool(jsonl_file):
        raise CliError("give exactly one of --csv or --jsonl")
    try:
        normalise_verifier_url(verifier_url)
    except ShareLinkError as exc:
        raise CliError(f"--verifier-url: {exc.reason}") from None
    source, fmt = (csv_file, "csv") if csv_file else (jsonl_file, "jsonl")
    # Refused before anything is issued: an earlier upload's output is never overwritten.
    if clash := earlier_output(out_dir):
        raise CliError(
            f"--out-dir {out_dir} holds an earlier upload's output ({', '.join(clash[:3])}"
            f"{' …' if len(clash) > 3 else ''}): choose another directory"
        )
    ctx, shares = _issuance(app)
    code = _agency(ctx, agency)
    out_dir.mkdir(parents=True, exist_ok=True)
    console = Console(emoji=False, highlight=False)
    started = time.perf_counter()
    # Refreshed by hand, not by rich's refresh thread: with another thread running, the signing and
    # bundle workers cannot be forked (ledger.issuance.signing, .delivery) and start slower or not at all.
    with Progress(
        TextColumn("{task.description:>7}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        auto_refresh=False,
    ) as bar:
        signing = bar.add_task("sign", total=None)
        try:
            result = issue_file(
                ctx,
                code,
                type_name,
                source.read_bytes(),
                fmt,
                all_or_nothing=all_or_nothing,
                actor="cli",
                progress=lambda done, total: bar.update(signing, completed=done, total=total, refresh=True),
            )
        except BulkRejected as exc:
            for row in exc.errors[:20]:
                console.print(f"row {row.row}: " + "; ".join(f"{e.field}: {e.reason}" for e in row.errors))
            raise CliError(f"{len(exc.errors)} invalid rows: nothing issued (--all-or-nothing)") from None
        issued_s = time.perf_counter() - started
        anchoring = bar.add_task("anchor", total=1)
        writing = bar.add_task("write", total=len(result.issued))
        bar.refresh()
        rows = {row.id: row.row for row in result.issued}
        with UploadOutput(
            out_dir,
            rows,
            verifier_url,
            one_file_each=one_file_each,
            progress=lambda n: bar.update(writing, completed=n, refresh=True),
        ) as output:
            # Bundles and links are written as the bundles are delivered (ledger.issuance.upload_output).
            ctx.bundle_sink = output.around(sink_of(ctx))
            # The upload as one batch, one anchor transaction, whatever the configured batch size (the
            # services' batches keep theirs): one close, one receipt and one confirmation for the lot.
            ctx.policy = dataclasses.replace(
                ctx.policy, max_size=max(ctx.policy.max_size, min(len(result.issued), 2**32 - 1))
            )
            _flush_anchor(ctx)
            bar.update(anchoring, completed=1, refresh=True)
            output.finish(ctx, code, shares)
    total_s = time.perf_counter() - started
    for row in result.errors[:20]:
        console.print(f"[red]row {row.row}[/]: " + "; ".join(f"{e.field}: {e.reason}" for e in row.errors))
    rate = len(result.issued) / total_s if total_s else 0
    click.echo(
        f"issued {len(result.issued)}, refused {len(result.errors)} rows; anchored; bundles in "
        f"{output.bundles_path}, share links in {out_dir / LINKS_NAME}"
    )
    click.echo(
        f"time: {total_s:.1f} s ({rate:,.0f} credentials/s end to end): issued {issued_s:.1f} s, then anchored "
        f"with the shares stored and the bundles and links written {total_s - issued_s:.1f} s"
    )
    if result.errors:
        raise click.exceptions.Exit(1)


def _bundle_target(app: App, bundle_file: Path):
    try:
        bundle = parse_bundle(bundle_file.read_bytes())
        view = check_credential(bundle.credential)
    except (OSError, BundleFormatError, ValidationError) as exc:
        raise CliError(f"{bundle_file}: not a valid bundle ({exc})") from None
    return view.agency_code, view.id


def _status_command(action: str):
    @click.command(action)
    @click.argument("bundle_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--reason", type=click.Choice(sorted(REASONS)), default="unspecified", show_default=True)
    @pass_app
    def command(app: App, bundle_file: Path, reason: str) -> None:
        from ledger.issuance import change_status

        code, credential_id = _bundle_target(app, bundle_file)
        ctx, _ = _issuance(app)
        change = change_status(ctx, code, [credential_id], action, REASONS[reason], actor="cli")
        state = "changed" if change.changed else "already so"
        click.echo(f"{action} {credential_id}: {state}" + (f" (tx {change.tx_hashes[0]})" if change.tx_hashes else ""))

    command.help = f"{action.capitalize()} the credential in BUNDLE_FILE on chain (as its agency)."
    return command


@click.command("share")
@click.argument("bundle_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--verifier-url", default=VERIFIER_URL, show_default=True)
@click.option("--png", "png_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the QR code as PNG.")
@click.option("--svg", "svg_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the QR code as SVG.")
@pass_app
def share(app: App, bundle_file: Path, verifier_url: str, png_file: Path | None, svg_file: Path | None) -> None:
    """Print the share link of the credential in BUNDLE_FILE; write its QR code (the link, never the document)."""
    from ledger.content.links import qr_png, qr_svg

    code, credential_id = _bundle_target(app, bundle_file)
    ctx, shares = _issuance(app)
    link = shares.link(code, credential_id, verifier_url)
    click.echo(link.url)
    for path, render in ((png_file, qr_png), (svg_file, qr_svg)):
        if path:
            path.write_bytes(render(link))
            click.echo(f"QR code: {path}")


COMMANDS = [type_group, issue, issue_bulk, share] + [_status_command(a) for a in ("revoke", "suspend", "reinstate")]
