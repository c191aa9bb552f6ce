"""One configuration object: a JSON file in the data directory, overridden by the process's environment.

Data directory: $CERTLEDGER_HOME, else ./.certledger. The environment (``ledger.settings.LedgerEnvironment``,
every variable documented in docs/configuration.md) is read once, by :func:`load_settings`, and travels
with the settings (``Settings.environment``): CERTLEDGER_RPC_URLS (comma-separated; switches off the
embedded chain), CERTLEDGER_CHAIN_ID and CERTLEDGER_STATUS_BASE_URL replace the file's values,
CERTLEDGER_DATABASE_URL wins in :attr:`Settings.resolved_database_url`; the rest (passphrase, content
store, batch policy, reorganisation checks, anvil) is read from ``settings.environment`` where the
pieces are assembled.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ledger.settings import ConfigError, LedgerEnvironment

CONFIG_NAME = "config.json"
CONFIG_VERSION = 1


def _doc(default=None, text: str = "", **kw):
    """A field with its description (docs/configuration.md is generated from them: ledger.settings)."""
    if "default_factory" in kw:
        return field(default_factory=kw["default_factory"], metadata={"description": text})
    return field(default=default, metadata={"description": text})


@dataclass
class ChainSettings:
    embedded: bool = _doc(True, "Run anvil from node_modules; `false`: use `rpc_urls`.")
    rpc_urls: list[str] = _doc(
        default_factory=list, text="External nodes' JSON-RPC URLs, the first answering wins (`embedded` false)."
    )
    chain_id: int = _doc(31337, "The chain's id; a node of another chain is refused.")
    host: str = _doc("127.0.0.1", "Embedded chain only: its address (loopback).")
    port: int = _doc(8545, "Embedded chain only: its port; `0` picks a free port.")
    state_interval: int = _doc(1, "Seconds between the embedded chain's state dumps: a crash loses at most this much.")
    confirmations: int = _doc(1, "Blocks a receipt needs before it counts.")


@dataclass
class Settings:
    data_dir: Path
    chain: ChainSettings = field(default_factory=ChainSettings)  # `chain.*`
    deployment: dict | None = _doc(None, "Written by `deploy`: chain id, contract addresses, block, transactions.")
    database_url: str = _doc(
        "sqlite:///certledger.db", "The issuer's database; relative SQLite paths live in the data directory."
    )
    passphrase_file: str | None = _doc(
        "secrets/passphrase",
        "The key passphrase's file (random, mode 0600, created by `init` unless the environment gives one).",
    )
    governance_key: str = _doc("keys/governance.json", "The governance account's encrypted key file.")
    status_base_url: str = _doc(
        "http://127.0.0.1:8000/status",
        "Where the W3C status lists are published (`<base>/<agency>/<list id>/<purpose>`, "
        "ledger.protocol.status_list); credentials name their lists there.",
    )
    version: int = _doc(CONFIG_VERSION, "The file's format version.")
    # the process's environment (not saved); unset here: no overrides
    environment: LedgerEnvironment = field(default_factory=LedgerEnvironment.model_construct, repr=False)

    # --- locations ---
    @property
    def config_file(self) -> Path:
        return self.data_dir / CONFIG_NAME

    @property
    def chain_dir(self) -> Path:
        return self.data_dir / "chain"

    def path(self, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else self.data_dir / p

    @property
    def resolved_database_url(self) -> str:
        url = self.environment.database_url or self.database_url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url[len(prefix) :].startswith("/"):
            return prefix + str(self.data_dir / url[len(prefix) :])
        return url

    # --- persistence ---
    def to_json(self) -> str:
        data = asdict(self)
        data.pop("data_dir")
        data.pop("environment")
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    def save(self) -> None:
        _atomic_write(self.config_file, self.to_json())

    def record_deployment(self, deployment: dict) -> None:
        """Store the deployment in the file as it is on disk, leaving environment overrides out of it."""
        raw = json.loads(self.config_file.read_text("utf-8"))
        raw["deployment"] = deployment
        _atomic_write(self.config_file, json.dumps(raw, indent=2, sort_keys=True) + "\n")
        self.deployment = deployment


def _atomic_write(path: Path, text: str) -> None:
    """A crash never leaves a half-written configuration."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def default_data_dir(environment: LedgerEnvironment) -> Path:
    return Path(environment.home or ".certledger").resolve()


def load_settings(data_dir: Path | None = None, environment: LedgerEnvironment | None = None) -> Settings:
    """The data directory's configuration (default: $CERTLEDGER_HOME, else ./.certledger) with the
    environment's overrides; ``environment`` defaults to this process's (read here, once)."""
    environment = LedgerEnvironment.from_environ() if environment is None else environment
    data_dir = Path(data_dir).resolve() if data_dir else default_data_dir(environment)
    file = data_dir / CONFIG_NAME
    try:
        raw = json.loads(file.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no configuration in {data_dir}: run `certledger init` first") from None
    except ValueError as exc:
        raise ConfigError(f"{file} is not valid JSON: {exc}") from None
    if raw.get("version") != CONFIG_VERSION:
        raise ConfigError(f"{file}: unsupported configuration version {raw.get('version')!r}")
    try:
        chain = ChainSettings(**raw.pop("chain", {}))
        settings = Settings(data_dir=data_dir, chain=chain, environment=environment, **raw)
    except TypeError as exc:
        raise ConfigError(f"{file}: unknown or missing setting ({exc})") from None
    _apply_environment(settings, environment)
    return settings


def _apply_environment(settings: Settings, env: LedgerEnvironment) -> None:
    if env.rpc_urls:
        settings.chain.embedded = False
        settings.chain.rpc_urls = list(env.rpc_urls)
    if env.chain_id is not None:
        settings.chain.chain_id = env.chain_id
    if env.status_base_url:
        settings.status_base_url = env.status_base_url


__all__ = ["CONFIG_NAME", "ChainSettings", "ConfigError", "Settings", "default_data_dir", "load_settings"]
