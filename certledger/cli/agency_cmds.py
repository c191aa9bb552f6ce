"""certledger agency register (governance)."""

from __future__ import annotations

import click
from sqlmodel import Session

from certledger.cli.context import App, CliError, pass_app
from ledger.governance import accounts
from ledger.governance.agency_keys import create_or_load_agency_keys
from ledger.governance.onboarding import onboard_agency
from ledger.protocol.identifiers import check_agency_code, check_type_name
from ledger.protocol.keys import PublicKey
from ledger.storage import AgencyRecord, record_audit


@click.group("agency")
def agency() -> None:
    """Agencies: onboarding by governance."""


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


COMMANDS = [agency]
