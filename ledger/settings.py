"""Every ``CERTLEDGER_*`` environment variable, declared once (pydantic-settings) and documented from here.

Three models, one per kind of process: :class:`LedgerEnvironment` (the library as the CLI and both
services use it: data directory, chain, database, keys, anchoring), :class:`IssuerSettings` (the
issuer service) and :class:`VerifierEnvironment` (the verifier service, ``CERTLEDGER_VERIFIER_*``).
A process reads its environment once, at start-up (``Model.from_environ()``), and hands the values
down as arguments; nothing below reads ``os.environ``.

``python -m ledger.settings --markdown`` writes the reference (docs/configuration.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Self

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PREFIX = "CERTLEDGER_"
VERIFIER_PREFIX = "CERTLEDGER_VERIFIER_"
DURABILITIES = ("power-loss", "process-crash")  # ledger.storage.request_path


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it (the file's field or the variable)."""


class _Environment(BaseSettings):
    """A process's environment: unset and empty variables keep the default."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)
    keep_empty: ClassVar[tuple[str, ...]] = ()  # fields where an empty value is a value

    @model_validator(mode="before")
    @classmethod
    def _empty_is_unset(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v != "" or k in cls.keep_empty}
        return data

    @classmethod
    def env_name(cls, field: str) -> str:
        return (cls.model_config.get("env_prefix") or "") + field.upper()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The settings from ``environ`` (default: this process's environment); a value that cannot be
        used raises :class:`ConfigError` naming its variable."""
        try:
            if environ is None:
                return cls()
            names = {cls.env_name(f): f for f in cls.model_fields}
            return cls.model_validate({names[k]: v for k, v in environ.items() if k in names})
        except ValidationError as exc:
            raise ConfigError("; ".join(_describe(cls, e) for e in exc.errors())) from None

    def to_env(self) -> dict[str, str]:
        """The variables set to something other than their default (how a process hands its settings
        to the processes it starts)."""
        out = {}
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            if value != info.default:
                out[self.env_name(name)] = _dump(value)
        return out


def _describe(cls: type[_Environment], error: Any) -> str:
    name = cls.env_name(str(error["loc"][0])) if error["loc"] else cls.__name__
    if error["type"] == "value_error":
        return f"{name} {error['ctx']['error']}"
    return f"{name}: {error['msg'].lower()}, not {error['input']!r}"


def _dump(value: Any) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


class LedgerEnvironment(_Environment):
    """The data directory, its chain and database, the keys' passphrase and the anchoring pipeline: the
    CLI and both services. Set variables override the data directory's ``config.json``."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", frozen=True)
    keep_empty = ("key_passphrase",)  # an empty passphrase is refused, not ignored

    home: Path | None = Field(None, description="The data directory (default: `./.certledger`).")
    rpc_urls: Annotated[list[str] | None, NoDecode] = Field(
        None,
        description="Comma-separated JSON-RPC URLs of the chain's nodes, first preferred; "
        "set, the embedded chain is off (`chain.rpc_urls` in config.json).",
    )
    chain_id: int | None = Field(None, description="The chain's id (`chain.chain_id` in config.json).")
    database_url: str | None = Field(
        None,
        description="The issuer's database: `sqlite:///<file>` (relative to the data directory) or "
        "`postgresql+psycopg://…` (`database_url` in config.json).",
    )
    status_base_url: str | None = Field(
        None,
        description="Where the W3C status lists are published: `<base>/<agency>/<list id>/<purpose>` "
        "(`status_base_url` in config.json).",
    )
    key_passphrase: SecretStr | None = Field(
        None, description="The passphrase the private keys are encrypted with (wins over the passphrase files)."
    )
    key_passphrase_file: Path | None = Field(
        None,
        description="A file holding the key passphrase (one trailing newline ignored); "
        "else `passphrase_file` of config.json.",
    )
    ipfs_api: str | None = Field(
        None,
        description="An IPFS node's RPC API (Kubo, e.g. `http://127.0.0.1:5001`) for the encrypted content; unset: "
        "the embedded store in `<data>/content` (immutable pack files, one per delivered chunk of up to 5,000 "
        "shares; IPFS-identical CIDs).",
    )
    content_retry_max_s: float = Field(
        300.0,
        gt=0,
        description="Shares the content store did not take (down, full) wait in the database and are tried again "
        "2 s after a failure, then 4, 8 … s, at most this many seconds apart (the retry thread looks every 5 s).",
    )
    batch_max_size: int = Field(
        10_000, ge=1, le=2**32 - 1, description="The anchorer closes a batch once this many credentials wait."
    )
    batch_max_age_s: float = Field(
        5.0, ge=0, description="... or once the oldest waiting credential has waited this long (seconds)."
    )
    anchor_lease_ttl_s: float = Field(
        60.0,
        gt=0,
        description="The anchoring lease, in seconds: after a kill -9 the next anchorer waits this long.",
    )
    reorg_window_blocks: int = Field(
        64,
        ge=1,
        description="Anchors and status changes of this many recent blocks are re-checked when the head block "
        "changes (and every CERTLEDGER_REORG_CHECK_INTERVAL_S).",
    )
    reorg_check_interval_s: float = Field(
        30.0, ge=0, description="Seconds between the anchorer's reorganisation checks."
    )
    anvil: Path | None = Field(
        None, description="The anvil binary of the embedded chain (else node_modules, then PATH)."
    )

    @field_validator("rpc_urls", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [u.strip() for u in value.split(",") if u.strip()] or None
        return value

    @field_validator("status_base_url")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip() if value is not None else None


class IssuerSettings(_Environment):
    """The issuer service (`certledger serve issuer`, `uvicorn issuer_api.main:app_from_env`), beyond
    the data directory's configuration."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", frozen=True)

    verifier_url: str = Field(
        "http://127.0.0.1:8080", description="The verifier share links point at (`certledger serve verifier`)."
    )
    max_body_bytes: int = Field(64 * 1024 * 1024, gt=0, description="Bulk uploads: larger bodies get 413.")
    max_json_bytes: int = Field(256 * 1024, gt=0, description="Single-credential requests: larger bodies get 413.")
    run_anchorer: bool = Field(
        True,
        description="Whether this process anchors (`0`: serve only). `serve issuer` runs the anchorer and the "
        "content retry queue in one background process beside its workers (restarted if it dies; `/healthz` "
        "reports it); one anchorer at a time across processes and hosts, by a database lease. The app run under "
        "uvicorn directly (`issuer_api.main:app_from_env`) anchors in its own process.",
    )
    anchorer_status: Path | None = Field(
        None,
        description="The anchoring process's state file, read by workers that do not anchor (set by `serve issuer`).",
    )
    anchorer_parent: int | None = Field(
        None,
        description="The process id the background anchoring process exits with (set by `serve issuer`; "
        "default: its parent).",
    )
    rate_limit_per_s: float = Field(
        1000.0,
        ge=0,
        description="Requests per second per API key (requests without a key: per client address), **per worker "
        "process** (0: off); beyond it 429 `RATE_LIMITED` with `Retry-After`. Token buckets kept in each worker "
        "(`http_common/ratelimit.py`): with N workers a client may send N times the figure; `/healthz` is never "
        "limited.",
    )
    rate_limit_burst: int = Field(2000, ge=1, description="Requests a key may send at once before the rate applies.")
    commit_durability: str = Field(
        "power-loss",
        description="When a request is answered. `power-loss`: once its commit is on disk (SQLite: the WAL is "
        "synced right after COMMIT, once the write lock is free again; PostgreSQL synchronous_commit on). "
        "`process-crash`: single issuance (`POST /credentials`, supersede) is answered once the operating system "
        "has the commit: it survives kill -9 of every process, but a power loss or kernel crash can undo the "
        "credentials of the last moment (SQLite: at most about 0.5 s; PostgreSQL: 200–600 ms by default). Every "
        "other write waits for the disk either way (`ledger/storage/request_path.py`).",
    )

    @field_validator("commit_durability")
    @classmethod
    def _durability(cls, value: str) -> str:
        if value not in DURABILITIES:
            raise ValueError(f"must be one of {', '.join(DURABILITIES)}, not {value!r}")
        return value


class VerifierEnvironment(_Environment):
    """The verifier service (`certledger serve verifier`, `uvicorn verifier.app:app_from_env`). A set
    variable wins over the value the CLI built from the data directory."""

    model_config = SettingsConfigDict(env_prefix=VERIFIER_PREFIX, extra="ignore", frozen=True)
    # set but empty, these mean something: no CORS origins, no content directory, no path prefix
    keep_empty = ("trust_roots", "rpc_urls", "database_url", "content_dir", "ipfs_api", "cors_origins", "root_path")

    trust_roots: Annotated[str | None, NoDecode] = Field(
        None,
        description='JSON list of `{"chainId", "registry", "ledger", "name"?, "fromBlock"?}`: the trusted '
        "deployments (default: the data directory's).",
    )
    rpc_urls: Annotated[str | None, NoDecode] = Field(
        None, description='JSON object `{"<chainId>": ["url", "fallback url"]}`.'
    )
    database_url: str | None = Field(
        None, description="The verifier's own index database, a SQLite file (`sqlite:///verifier-index.db`)."
    )
    content_dir: str | None = Field(None, description="The local content store's directory.")
    ipfs_api: str | None = Field(None, description="An IPFS node's RPC API (wins over CONTENT_DIR).")
    max_body_bytes: int | None = Field(None, description="`POST /verify` body limit (1 MiB).")
    max_batch_bytes: int | None = Field(None, description="`POST /verify/batch` body limit (40 MiB).")
    max_batch_items: int | None = Field(None, description="Bundles per batch (10,000).")
    cors_origins: Annotated[str | None, NoDecode] = Field(
        None, description="Comma-separated origins; empty (default): CORS off."
    )
    poll_interval_s: float | None = Field(None, description="How often the indexer looks at the chain (0.5 s).")
    confirmations: int | None = Field(None, description="Blocks before a fact that *adds* validity counts (1).")
    reorg_window: int | None = Field(None, description="Recent blocks whose hashes are kept and re-checked (64).")
    max_staleness_s: float | None = Field(
        None, description="An index older than this: reports say ERROR, never VALID (30 s)."
    )
    rpc_timeout_s: float | None = Field(None, description="Timeout of one JSON-RPC request (5 s).")
    log_range: int | None = Field(None, description="Blocks per `eth_getLogs` request (5,000).")
    batch_processes: int | None = Field(
        None, description="Processes verifying a large batch (0, default: one per CPU)."
    )
    root_path: str | None = Field(None, description="URL path prefix when served below one (e.g. `/verify`).")
    rate_limit_per_s: float | None = Field(
        None,
        description="Requests per second per client address, **per worker process** (10,000; 0: off); 429 with "
        "`Retry-After` beyond. Behind a proxy run uvicorn with `--proxy-headers` so the address is the client's.",
    )
    rate_limit_burst: int | None = Field(None, description="Requests an address may send at once (20,000).")


MODELS: tuple[type[_Environment], ...] = (LedgerEnvironment, IssuerSettings, VerifierEnvironment)


def markdown() -> str:
    """The reference: the data directory's file and every variable, from the models (docs/configuration.md)."""
    from dataclasses import MISSING, fields

    from ledger.config import CONFIG_NAME, ChainSettings, Settings

    lines = [
        "# Configuration",
        "",
        "<!-- Generated by `python -m ledger.settings --markdown > docs/configuration.md`: do not edit. -->",
        "",
        f"A data directory (`certledger init`; `$CERTLEDGER_HOME`, else `./.certledger`) holds `{CONFIG_NAME}`,",
        "written by `init` and `deploy` (`ledger/config.py`). The environment variables below override it and",
        "configure the services: production settings never need to be written into the file. Unset or empty",
        "variables keep the default. Each process reads its environment once, at start-up (`ledger/settings.py`),",
        "and hands the values down.",
        "",
        f"## {CONFIG_NAME}",
        "",
        "| Field | Default | Description |",
        "|---|---|---|",
    ]
    for prefix, cls in (("chain.", ChainSettings), ("", Settings)):
        for f in fields(cls):
            if "description" not in f.metadata:
                continue
            default = f.default_factory() if f.default_factory is not MISSING else f.default
            lines.append(f"| `{prefix}{f.name}` | `{json.dumps(default)}` | {f.metadata['description']} |")
    for model in MODELS:
        lines += ["", f"## {model.__name__}", "", " ".join((model.__doc__ or "").split()), ""]
        lines += ["| Variable | Type | Default | Description |", "|---|---|---|---|"]
        for name, info in model.model_fields.items():
            kind = _type_name(info.annotation)
            default = "unset" if info.default is None else f"`{_dump(info.default)}`"
            lines.append(f"| `{model.env_name(name)}` | {kind} | {default} | {info.description} |")
    return "\n".join(lines) + "\n"


def _type_name(annotation: Any) -> str:
    text = str(annotation).replace("typing.", "").replace("pathlib.", "").replace("pydantic.types.", "")
    text = text.replace("<class '", "").replace("'>", "").replace(" | None", "").replace("Optional[", "")
    if "NoDecode" in text or text.startswith("list["):
        return "text"
    return {"Path": "path", "SecretStr": "secret", "str": "text", "int": "integer", "float": "number"}.get(text, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ledger.settings", description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print the reference (docs/configuration.md)")
    args = parser.parse_args(argv)
    if not args.markdown:
        parser.print_help()
        return 2
    sys.stdout.write(markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = [
    "ConfigError",
    "IssuerSettings",
    "LedgerEnvironment",
    "MODELS",
    "PREFIX",
    "VERIFIER_PREFIX",
    "VerifierEnvironment",
    "markdown",
]
