"""certledger agency: register, show, key rotate/revoke, operator add/remove, deactivate/reactivate."""

from __future__ import annotations

import click
from sqlmodel import Session
from web3 import Web3

from certledger.cli.context import App, CliError, pass_app
from ledger.governance import accounts
from ledger.governance.agency_keys import create_or_load_agency_keys
from ledger.governance.onboarding import onboard_agency
from ledger.protocol.identifiers import check_agency_code, check_type_name
from ledger.protocol.keys import PublicKey
from ledger.storage import AgencyRecord, record_audit


@click.group("agency")
def agency() -> None:
    """Agencies: onboarding, keys, operators and activation (governance)."""


@agency.command("register")
@click.argument("code")
@click.option("--name", required=True, help="Display name, as it appears in credentials.")
@click.option(
    "--operator", default=None, help="Operator address; default: a new account kept (encrypted) in the data directory."
)
@click.option(
    "--key",
    "public_key",
    default=None,
    help="Ed25519 public key (0x + 64 hex); default: a new key kept (encrypted) in the data directory.",
)
@click.option("--types", required=True, help="Comma-separated credential type names the agency may issue.")
@pass_app
def register(app: App, code: str, name: str, operator: str | None, public_key: str | None, types: str) -> None:
    """Register agency CODE on chain with its operator, signing key and permitted types (retry-safe)."""
    try:
        check_agency_code(code)
        type_names = [check_type_name(t.strip()) for t in types.split(",") if t.strip()]
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if not type_names:
        raise CliError("--types: name at least one credential type")
    if operator is None or public_key is None:
        keys = create_or_load_agency_keys(app.settings.data_dir, code, app.passphrase())
        operator = operator or keys.operator.address
        public_key = public_key or "0x" + keys.signing_key.public_key.raw.hex()
    try:
        raw_key = bytes.fromhex(public_key.removeprefix("0x"))
    except ValueError:
        raw_key = b""
    if len(raw_key) != 32:
        raise CliError("--key: expected an Ed25519 public key as 0x + 64 hex digits")
    try:
        PublicKey(raw_key)
    except ValueError as exc:
        raise CliError(f"--key: {exc}") from None
    if app.settings.chain.embedded:
        accounts.fund_on_anvil(app.rpc_urls()[0], operator)
    governance = app.governance
    result = onboard_agency(app.registry(governance), code, name, operator, raw_key, type_names)
    for step, tx in zip(result.done, result.tx_hashes):
        record_audit(app.engine, "onboard", governance.address, agency=code, subject=step, tx_hash=tx)
    with Session(app.engine) as session:
        record = session.get(AgencyRecord, code) or AgencyRecord(
            code=code, name=name, operator_address=operator, signing_public_key="0x" + raw_key.hex()
        )
        record.types = sorted(set(record.types) | set(type_names))
        session.add(record)
        session.commit()
    for step in result.done:
        click.echo(f"done:    {step}")
    for step in result.skipped:
        click.echo(f"already: {step}")


def _report(app: App, action: str, code: str | None, change) -> None:
    """Audit every transaction sent and print what was done and what the chain already held."""
    from ledger.governance.agency_admin import audit_change

    audit_change(app.engine, action, app.governance.address, code, change)
    for step in change.done:
        click.echo(f"done:    {step}")
    for step in change.skipped:
        click.echo(f"already: {step}")


def _utc(seconds: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@agency.command("show")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def show(app: App, code: str, as_json: bool) -> None:
    """Print agency CODE's on-chain state: name, active, types, operators, keys with their validity."""
    from dataclasses import asdict

    from ledger.governance.agency_admin import agency_state, known_type_names

    state = agency_state(app.registry(), code, known_type_names(app.engine, code))
    if as_json:
        import json

        click.echo(json.dumps(asdict(state), ensure_ascii=False, indent=2))
        return
    click.echo(f"agency:    {state.code}\nname:      {state.name}\nactive:    {'yes' if state.active else 'no'}")
    click.echo(f"types:     {', '.join(state.types) or '-'}")
    click.echo(f"operators: {', '.join(state.operators) or '-'}")
    for key in state.keys:
        revoked = f"revoked as of {_utc(key.revoked_at)}" if key.revoked_at else "not revoked"
        click.echo(f"key:       {key.public_key} valid from {_utc(key.valid_from)}, {revoked}")


@agency.group("key")
def key() -> None:
    """An agency's Ed25519 signing keys."""


@key.command("rotate")
@click.argument("code")
@pass_app
def key_rotate(app: App, code: str) -> None:
    """A new encrypted signing key for CODE, registered on chain; new credentials are signed with it (retry-safe).

    The old key stays valid so that credentials it signed still waiting for their anchor verify;
    retire it with `agency key revoke` once they are anchored (docs/operations.md)."""
    from ledger.governance.agency_admin import remember_rotation, rotate_signing_key

    change = rotate_signing_key(app.registry(app.governance), app.settings.data_dir, code, app.passphrase())
    remember_rotation(app.engine, code, signing_key=change.new_key)
    _report(app, "key-rotate", code, change)
    click.echo(f"signing key: {change.new_key} (old: {change.old_key or '-'}, still valid)")
    click.echo("restart `certledger serve issuer` so that it signs with the new key")


@key.command("revoke")
@click.argument("code")
@click.argument("public_key", metavar="KEY")
@click.option(
    "--compromised-at",
    "compromised_at",
    required=True,
    help="When the key was compromised, with its zone (e.g. 2026-12-07T20:00:00Z): the key is revoked as of then.",
)
@click.option("--reason", default="", help="Why (free text, kept in the audit log; not on chain).")
@click.option("--yes", is_flag=True, help="Revoke without asking, after printing the report.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_app
def key_revoke(
    app: App, code: str, public_key: str, compromised_at: str, reason: str, yes: bool, as_json: bool
) -> None:
    """Revoke signing KEY of CODE as of --compromised-at (a compromise found later).

    First reports which credentials become invalid (signed with KEY, anchored at or after that time,
    or not anchored yet) and which stay valid (anchored before), then revokes the key on chain as of
    that time. Retry-safe; the agency's current key is refused (rotate first). Then re-issue:
    `certledger reissue --revoked-key KEY`."""
    import json

    from ledger.governance.agency_admin import AgencyAdminError, check_key_revocation
    from ledger.issuance import IssuanceContext
    from ledger.issuance.errors import IssuanceError
    from ledger.issuance.key_compromise import (
        compromise_report,
        current_signing_keys,
        parse_public_key,
        parse_time,
        revoke_key,
        utc_text,
    )

    try:
        raw = parse_public_key(public_key)
        at = parse_time(compromised_at)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    ctx = IssuanceContext.from_settings(app.settings, app.rpc_urls())
    report = compromise_report(ctx, code, raw, at)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        for line in report.lines():
            click.echo(line)
    current = current_signing_keys(ctx, code)
    registry = app.registry(app.governance)
    try:
        already = check_key_revocation(registry, code, raw, at, current)
    except AgencyAdminError as exc:
        raise CliError(str(exc)) from None
    if not already and not yes:
        click.confirm(
            f"Revoke {public_key} as of {utc_text(at)}? {len(report.becoming_invalid)} credentials become invalid",
            abort=True,
            err=True,
        )
    try:
        change = revoke_key(
            ctx, registry, code, raw, at, current_keys=current, reason=reason, actor=app.governance.address
        )
    except IssuanceError as exc:
        raise CliError(str(exc)) from None
    for step in change.done:  # (audited by revoke_key)
        click.echo(f"done:    {step}")
    for step in change.skipped:
        click.echo(f"already: {step}")
    click.echo(f"next: certledger reissue --revoked-key {change.public_key} --agency {code} --out-dir DIR")


@agency.group("operator")
def operator() -> None:
    """An agency's operator accounts (they send its anchors and status changes)."""


@operator.command("add")
@click.argument("code")
@click.argument("address", required=False)
@pass_app
def operator_add(app: App, code: str, address: str | None) -> None:
    """Make ADDRESS an operator of CODE; without ADDRESS, rotate the operator account: a new encrypted
    account in the data directory becomes the one the issuer sends from (retry-safe)."""
    from ledger.governance import agency_admin

    registry = app.registry(app.governance)
    if address is not None:
        try:
            address = Web3.to_checksum_address(address)
        except ValueError:
            raise CliError(f"ADDRESS: not an Ethereum address: {address}") from None
        _report(app, "operator-add", code, agency_admin.add_operator(registry, code, address))
        return
    change = agency_admin.rotate_operator(registry, app.settings.data_dir, code, app.passphrase())
    agency_admin.remember_rotation(app.engine, code, operator=change.new_address)
    if app.settings.chain.embedded:
        accounts.fund_on_anvil(app.rpc_urls()[0], change.new_address)
    _report(app, "operator-add", code, change)
    click.echo(f"new operator: {change.new_address}; fund it with ether before the issuer sends from it")
    if change.old_address:
        click.echo(f"then remove the old one: certledger agency operator remove {change.old_address}")


@operator.command("remove")
@click.argument("address")
@pass_app
def operator_remove(app: App, address: str) -> None:
    """Remove operator ADDRESS from its agency (retry-safe)."""
    from ledger.governance import agency_admin

    try:
        address = Web3.to_checksum_address(address)
    except ValueError:
        raise CliError(f"ADDRESS: not an Ethereum address: {address}") from None
    change, holder = agency_admin.remove_operator(app.registry(app.governance), address)
    _report(app, "operator-remove", None, change)
    if holder != bytes(32):
        click.echo(f"removed from agency 0x{holder.hex()}")


@agency.command("deactivate")
@click.argument("code")
@pass_app
def deactivate(app: App, code: str) -> None:
    """Deactivate agency CODE: it can no longer anchor; its anchored credentials stay as they are."""
    from ledger.governance.agency_admin import set_active

    _report(app, "deactivate", code, set_active(app.registry(app.governance), code, False))


@agency.command("reactivate")
@click.argument("code")
@pass_app
def reactivate(app: App, code: str) -> None:
    """Reactivate agency CODE."""
    from ledger.governance.agency_admin import set_active

    _report(app, "reactivate", code, set_active(app.registry(app.governance), code, True))


COMMANDS = [agency]
