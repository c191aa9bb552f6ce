"""The verifier service's settings: one object, every field overridable from the environment.

The variables (``CERTLEDGER_VERIFIER_*``, one per field) are declared and documented in
``ledger.settings.VerifierEnvironment`` (docs/configuration.md); set, they win over the values a
caller (the CLI) built.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from ledger.protocol.deployment import Deployment
from ledger.settings import VERIFIER_PREFIX as ENV_PREFIX
from ledger.settings import ConfigError, VerifierEnvironment
from ledger.verification.trust import TrustRoots

MIB = 1024 * 1024


class SettingsError(ValueError):
    """A setting that cannot be used; the message names it."""


def trust_root_json(root: Deployment) -> dict:
    """A trust root as ``CERTLEDGER_VERIFIER_TRUST_ROOTS`` spells it."""
    return {
        "chainId": root.chain_id,
        "registry": root.registry,
        "ledger": root.ledger,
        "name": root.name,
        "fromBlock": root.block,
    }


def trust_root_from_json(data: object, where: str = "trust root") -> Deployment:
    """A trust root from its JSON: the addresses checked and in lower case, ``fromBlock`` the block
    to index from (its deployment block)."""
    if not isinstance(data, dict):
        raise SettingsError(f"{where}: expected an object with chainId, registry, ledger")
    try:
        chain_id = int(data["chainId"])
        registry, ledger = str(data["registry"]), str(data["ledger"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SettingsError(f"{where}: chainId (integer), registry and ledger are required ({exc})") from None
    for label, address in (("registry", registry), ("ledger", ledger)):
        if not (address.startswith("0x") and len(address) == 42):
            raise SettingsError(f"{where}: {label} must be a 0x-prefixed 20-byte address")
        try:
            int(address[2:], 16)
        except ValueError:
            raise SettingsError(f"{where}: {label} must be a 0x-prefixed 20-byte address") from None
    return Deployment.trust_root(
        chain_id, registry, ledger, str(data.get("name") or ""), int(data.get("fromBlock") or 0)
    )


@dataclass(frozen=True)
class VerifierSettings:
    trust_roots: tuple[Deployment, ...] = ()
    rpc_urls: dict[int, tuple[str, ...]] = field(default_factory=dict)
    database_url: str = "sqlite:///verifier-index.db"
    content_dir: str | None = None
    ipfs_api: str | None = None
    max_body_bytes: int = 1 * MIB
    max_batch_bytes: int = 40 * MIB  # 10,000 typical bundles, pretty-printed, are ~28 MB
    max_batch_items: int = 10_000
    cors_origins: tuple[str, ...] = ()
    poll_interval_s: float = 0.5
    confirmations: int = 1
    reorg_window: int = 64
    max_staleness_s: float = 30.0
    rpc_timeout_s: float = 5.0
    log_range: int = 5_000
    batch_processes: int = 0  # 0: one per CPU
    root_path: str = ""
    rate_limit_per_s: float = 10_000.0  # requests per second per client address, per worker; 0: off
    rate_limit_burst: int = 20_000

    # --- derived ---
    def trust(self) -> TrustRoots:
        return TrustRoots(list(self.trust_roots))

    @property
    def effective_batch_processes(self) -> int:
        return self.batch_processes if self.batch_processes > 0 else max(1, os.cpu_count() or 1)

    @property
    def database_path(self) -> Path | None:
        """The SQLite file, when the database is one."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and len(self.database_url) > len(prefix):
            return Path(self.database_url[len(prefix) :])
        return None

    def check(self) -> VerifierSettings:
        if not self.trust_roots:
            raise SettingsError("no trust roots: set CERTLEDGER_VERIFIER_TRUST_ROOTS (or deploy in the data directory)")
        for root in self.trust_roots:
            if not self.rpc_urls.get(root.chain_id):
                raise SettingsError(f"no RPC URL for chain {root.chain_id}: set CERTLEDGER_VERIFIER_RPC_URLS")
        if self.content_dir is None and self.ipfs_api is None:
            raise SettingsError("no content store: set CERTLEDGER_VERIFIER_CONTENT_DIR or CERTLEDGER_VERIFIER_IPFS_API")
        for name in ("max_body_bytes", "max_batch_bytes", "max_batch_items", "reorg_window", "log_range"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name} must be positive")
        if self.rate_limit_per_s < 0 or self.rate_limit_burst < 1:
            raise SettingsError("rate_limit_per_s must be 0 (off) or positive, rate_limit_burst at least 1")
        if self.confirmations < 1:
            raise SettingsError("confirmations must be at least 1 (1: the block holding the fact)")
        if self.poll_interval_s <= 0 or self.max_staleness_s <= self.poll_interval_s:
            raise SettingsError("poll_interval_s must be positive and below max_staleness_s")
        if self.root_path and (not self.root_path.startswith("/") or self.root_path.endswith("/")):
            raise SettingsError("root_path must start with '/' and not end with one (e.g. /verify)")
        return self

    # --- environment ---
    def to_env(self) -> dict[str, str]:
        """The settings as environment variables (how the CLI hands them to uvicorn's workers)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[ENV_PREFIX + f.name.upper()] = _dump(f.name, value)
        return out

    def with_environment(self, environ: Mapping[str, str] | None = None) -> VerifierSettings:
        """These settings with the variables set in ``environ`` (default: this process's environment)."""
        try:
            environment = VerifierEnvironment.from_environ(environ)
        except ConfigError as exc:
            raise SettingsError(str(exc)) from None
        changes = {}
        for name, value in environment.model_dump(exclude_none=True).items():
            changes[name] = _load(name, value) if name in _TEXT_FIELDS else value
        return replace(self, **changes)

    def to_json(self) -> dict:
        data = asdict(self)
        data["trust_roots"] = [trust_root_json(r) for r in self.trust_roots]
        data["rpc_urls"] = {str(k): list(v) for k, v in self.rpc_urls.items()}
        return data


def settings_from_env(environ: Mapping[str, str] | None = None) -> VerifierSettings:
    """Settings built from the environment alone (uvicorn workers, a container)."""
    return VerifierSettings().with_environment(environ).check()


def _dump(name: str, value) -> str:
    if name == "trust_roots":
        return json.dumps([trust_root_json(r) for r in value])
    if name == "rpc_urls":
        return json.dumps({str(k): list(v) for k, v in value.items()})
    if name == "cors_origins":
        return ",".join(value)
    if value is None:
        return ""
    return str(value)


# The variables given as text, converted here; the others arrive typed (VerifierEnvironment).
_TEXT_FIELDS = ("trust_roots", "rpc_urls", "cors_origins", "content_dir", "ipfs_api")


def _load(name: str, text: str):
    env = ENV_PREFIX + name.upper()
    try:
        if name == "trust_roots":
            data = json.loads(text)
            if not isinstance(data, list):
                raise SettingsError(f"{env}: expected a JSON list of deployments")
            return tuple(trust_root_from_json(d, f"{env}[{i}]") for i, d in enumerate(data))
        if name == "rpc_urls":
            data = json.loads(text)
            if not isinstance(data, dict):
                raise SettingsError(f'{env}: expected a JSON object {{"<chainId>": ["url", ...]}}')
            out = {}
            for key, urls in data.items():
                if isinstance(urls, str):
                    urls = [urls]
                if not isinstance(urls, list) or not all(isinstance(u, str) and u for u in urls):
                    raise SettingsError(f"{env}: chain {key}: expected a list of URLs")
                out[int(key)] = tuple(urls)
            return out
        if name == "cors_origins":
            return tuple(o.strip() for o in text.split(",") if o.strip())
        return text or None  # content_dir, ipfs_api
    except SettingsError:
        raise
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"{env}: {exc}") from None


__all__ = [
    "trust_root_from_json",
    "trust_root_json",
    "VerifierSettings",
    "SettingsError",
    "settings_from_env",
    "ENV_PREFIX",
]
