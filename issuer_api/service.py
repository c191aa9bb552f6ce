"""What the routes share: the issuance context, encrypted shares, settings, and the background workers."""

from __future__ import annotations

import logging
import threading

from http_common.problem import Problem
from issuer_api.anchorer_status import read_status
from ledger.chain import RegistryClient, make_sender
from ledger.governance import accounts
from ledger.governance.agency_keys import create_or_load_agency_keys
from ledger.governance.onboarding import onboard_agency
from ledger.issuance import IssuanceContext, get_type, register_agency, run_anchorer
from ledger.issuance.node_watch import NodeWatch
from ledger.issuance.sharing import ShareStore
from ledger.issuance.status_publisher import run_publisher
from ledger.protocol.identifiers import check_agency_code
from ledger.settings import IssuerSettings
from ledger.storage.request_path import CheckpointThread, checkpoint_in_background

log = logging.getLogger("issuer_api")


class IssuerService:
    def __init__(
        self,
        ctx: IssuanceContext,
        shares: ShareStore,
        settings: IssuerSettings,
        *,
        config=None,
        governance=None,
        passphrase: str | None = None,
    ):
        self.ctx, self.shares, self.settings = ctx, shares, settings
        self.config, self.governance, self._passphrase = config, governance, passphrase
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._node = NodeWatch()  # the anchorer's view of the chain node, for /healthz
        self._checkpoints: CheckpointThread | None = None

    # --- background work: anchoring (one process at a time, by lease), the content retry queue, status lists ---
    def start(self) -> None:
        if self._checkpoints is None:
            self._checkpoints = checkpoint_in_background(self.ctx.engine)
        if self.settings.run_anchorer and not self._threads:
            for name, target in (
                ("anchorer", self._anchor),
                ("content-retry", self._retry_content),
                ("status-lists", self._publish_status_lists),
            ):
                thread = threading.Thread(target=target, name=name, daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        if self._checkpoints is not None:
            self._checkpoints.stop()
            self._checkpoints = None

    def anchorer_health(self) -> dict:
        """Whether the anchoring worker runs (in this process, or else in the background process whose
        state file the settings name), and whether it reaches the chain node."""
        if not self.settings.run_anchorer:
            return read_status(self.settings.anchorer_status)
        running = any(t.name == "anchorer" and t.is_alive() for t in self._threads)
        return {"running": running, **({"worker": self.ctx.worker_id, **self._node.health()} if running else {})}

    def _anchor(self) -> None:
        try:
            run_anchorer(self.ctx, self._stop, node=self._node)
        except Exception:  # noqa: BLE001 - logged; the API keeps accepting, another process may anchor
            log.exception("the anchoring worker stopped")

    def _retry_content(self) -> None:
        self.shares.run_retries(self._stop)

    def _publish_status_lists(self) -> None:
        try:
            run_publisher(self.ctx, self._stop)
        except Exception:  # noqa: BLE001 - logged; the API keeps serving the lists last published
            log.exception("the status-list publisher stopped")

    # --- governance ---
    def governance_registry(self) -> RegistryClient:
        """The registry, sending as this process's governance account: the account every governance
        change is made with, whichever API key asked (503 when the process holds none)."""
        if self.governance is None or self.config is None or self._passphrase is None:  # all three come together
            raise Problem(
                503,
                "GOVERNANCE_UNAVAILABLE",
                "this issuer process holds no governance key",
                "Governance changes are not available here",
            )
        w3 = self.ctx.chain.w3
        sender = make_sender(w3, self.governance, self.ctx.chain.confirmations)
        return RegistryClient(w3, self.ctx.chain.deployment.registry, sender)

    @property
    def passphrase(self) -> str:
        """The key passphrase (the key files' and the governance account's); only set with the governance key."""
        if self._passphrase is None:
            raise Problem(503, "GOVERNANCE_UNAVAILABLE", "this issuer process holds no key passphrase")
        return self._passphrase

    def onboard(self, code: str, name: str, types: list[str], actor: str):
        """Keys in the data directory, registration on chain (retry-safe), the agency's record."""
        if self.governance is None or self.config is None or self._passphrase is None:  # all three come together
            raise Problem(
                503,
                "GOVERNANCE_UNAVAILABLE",
                "this issuer process holds no governance key",
                "Onboarding is not available here",
            )
        try:
            check_agency_code(code)  # before it names a folder
        except ValueError as exc:
            raise Problem(422, "INVALID_AGENCY", str(exc), "The agency is invalid") from None
        for type_name in types:
            get_type(self.ctx, type_name)  # unknown types are refused before anything is sent
        keys = create_or_load_agency_keys(self.config.data_dir, code, self._passphrase)
        w3 = self.ctx.chain.w3
        if self.config.chain.embedded:
            accounts.fund_on_anvil(w3.provider.endpoint_uri, keys.operator.address)  # type: ignore[attr-defined]  # an HTTPProvider
        registry = RegistryClient(w3, self.ctx.chain.deployment.registry, make_sender(w3, self.governance))
        onboard_agency(registry, code, name, keys.operator.address, keys.signing_key.public_key.raw, types)
        return register_agency(self.ctx, code, name, types, actor=actor)
