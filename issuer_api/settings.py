"""The issuer service's settings (beyond the data directory's configuration), from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ledger.config import ConfigError
from ledger.storage.request_path import DURABILITIES, POWER_LOSS

DURABILITY_ENV = "CERTLEDGER_COMMIT_DURABILITY"


@dataclass(frozen=True)
class IssuerSettings:
    verifier_url: str = "http://127.0.0.1:8080"  # share links point at this verifier (`serve verifier`)
    max_body_bytes: int = 64 * 1024 * 1024  # bulk uploads; larger bodies get 413
    max_json_bytes: int = 256 * 1024  # single-credential requests
    run_anchorer: bool = True  # this process competes for the anchoring lease
    anchorer_status: str | None = None  # else: the anchoring process's state file (`serve issuer`)
    rate_limit_per_s: float = 1000.0  # per API key (keyless: per address), per worker; 0: off
    rate_limit_burst: int = 2000  # requests a key may send at once before the rate applies
    commit_durability: str = POWER_LOSS  # when a request's commit counts (ledger.storage.request_path)

    @classmethod
    def from_env(cls) -> IssuerSettings:
        env = os.environ
        durability = env.get(DURABILITY_ENV) or POWER_LOSS
        if durability not in DURABILITIES:
            raise ConfigError(f"{DURABILITY_ENV} must be one of {', '.join(DURABILITIES)}, not {durability!r}")
        return cls(
            verifier_url=env.get("CERTLEDGER_VERIFIER_URL", cls.verifier_url),
            max_body_bytes=int(env.get("CERTLEDGER_MAX_BODY_BYTES", cls.max_body_bytes)),
            max_json_bytes=int(env.get("CERTLEDGER_MAX_JSON_BYTES", cls.max_json_bytes)),
            run_anchorer=env.get("CERTLEDGER_RUN_ANCHORER", "1") not in ("0", "false", "no"),
            anchorer_status=env.get("CERTLEDGER_ANCHORER_STATUS") or None,
            rate_limit_per_s=float(env.get("CERTLEDGER_RATE_LIMIT_PER_S", cls.rate_limit_per_s)),
            rate_limit_burst=int(env.get("CERTLEDGER_RATE_LIMIT_BURST", cls.rate_limit_burst)),
            commit_durability=durability,
        )
