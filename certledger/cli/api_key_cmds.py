"""certledger api-key create | list | revoke: the issuer API's keys, kept in the data directory's database."""

from __future__ import annotations

import click

from certledger.cli.context import App, CliError, pass_app


@click.group("api-key")
def api_key() -> None:
    """API keys of the issuer API (`Authorization: Bearer clk_…`); only a hash of each is stored."""


@api_key.command("create")
@click.option("--agency", "agency_code", default=None, help="The agency the key acts for (registered here).")
@click.option("--governance", is_flag=True, help="A governance key (onboarding agencies, types) instead.")
@click.option(
    "--scopes",
    required=True,
    help="Comma-separated: issue, revoke, read, admin for an agency's key; governance for a governance key.",
)
@click.option("--name", default="", help="A label; a live key of the same agency with this name is refused.")
@pass_app
def create(app: App, agency_code: str | None, governance: bool, scopes: str, name: str) -> None:
    """Create a key and print it once."""
    from sqlmodel import Session

    from ledger.governance.api_keys import ApiKeyError, create_api_key
    from ledger.storage import AgencyRecord

    if governance == (agency_code is not None):
        raise CliError("give either --agency CODE or --governance")
    if agency_code is not None:
        with Session(app.engine) as session:
            if session.get(AgencyRecord, agency_code) is None:
                raise CliError(
                    f"--agency: {agency_code} is not registered here (certledger agency register {agency_code})"
                )
    scope_list = [s.strip() for s in scopes.split(",") if s.strip()]
    try:
        row, key = create_api_key(app.engine, agency_code, scope_list, name, actor="cli", unique_label=True)
    except ApiKeyError as exc:
        raise CliError(str(exc)) from None
    click.echo(f"id:     {row.id}")
    click.echo(f"scopes: {','.join(row.scopes)}" + (f" (agency {agency_code})" if agency_code else " (governance)"))
    click.echo(f"key:    {key}")
    click.echo("Store the key now: it is shown only this once (the database keeps a hash).")


@api_key.command("list")
@click.option("--agency", "agency_code", default=None, help="Only this agency's keys.")
@pass_app
def list_keys(app: App, agency_code: str | None) -> None:
    """List keys: id, agency, scopes, name, created, revoked. Never the secret."""
    from ledger.governance.api_keys import list_api_keys

    keys = list_api_keys(app.engine, agency_code)
    if not keys:
        click.echo("no API keys" + (f" for {agency_code}" if agency_code else ""))
        return
    for k in keys:
        state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}Z" if k.revoked_at else "live"
        click.echo(
            f"{k.id}  {k.agency_code or '(governance)':<12} {','.join(k.scopes):<24} "
            f"{k.label or '-':<20} created {k.created_at:%Y-%m-%d %H:%M}Z  {state}"
        )


@api_key.command("revoke")
@click.argument("key_id")
@pass_app
def revoke(app: App, key_id: str) -> None:
    """Revoke KEY_ID (clk_…); revoking it again changes nothing."""
    from ledger.governance.api_keys import revoke_api_key

    if not revoke_api_key(app.engine, key_id, None, actor="cli"):
        raise CliError(f"no API key {key_id}")
    click.echo(f"revoked {key_id}")


COMMANDS = [api_key]
