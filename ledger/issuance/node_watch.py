"""Is the chain node answering? While it is not, the anchorer pauses with a growing delay.

An unreachable node is not any batch's fault: rather than every open batch failing in turn (each
pushing its own retry further out, so that anchoring resumes long after the node is back), the
anchorer asks the node once per round (``eth_blockNumber``) and, while it gets no answer, waits
1, 2, 4 … ``max_delay_s`` seconds between asks, logging one clear line each time. Issuance does not
need the chain and goes on meanwhile; the first answer ends the pause with a line saying how long
the node was away.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import requests

from ledger.chain import NodeUnreachable
from ledger.issuance.outage import Outage, root_cause

log = logging.getLogger("ledger.issuance.anchoring")


def unreachable(exc: BaseException | None) -> bool:
    """The node did not answer at all (refused, no route, connect timeout), as opposed to answering badly."""
    return isinstance(exc, (NodeUnreachable, requests.ConnectionError))


def _where(url: str) -> str:
    """scheme://host:port only: a provider's URL path or query may hold an API key."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"


class NodeWatch(Outage):
    @property
    def reachable(self) -> bool:
        return self.down_since is None

    def health(self) -> dict:
        down = None if self.down_since is None else round(self.clock() - self.down_since, 1)
        return {"chainReachable": self.down_since is None, "chainDownForS": down}

    def check(self, ctx) -> float | None:
        """None when the node answers; otherwise how long to wait before asking again."""
        away: float | None  # for how long the node has been away (None: it was not)
        try:
            _ = ctx.chain.w3.eth.block_number  # any answer will do
        except Exception as exc:  # noqa: BLE001 - only "no answer" pauses; other errors are the round's to report
            if not unreachable(exc):
                return None
            away, delay = self.failed()
            log.warning(
                "chain node unreachable at %s (%s) for %.0f s; anchoring paused, issuance continues; "
                "next try in %.0f s",
                ", ".join(map(_where, ctx.chain.rpc_urls)),
                root_cause(exc),
                away,
                delay,
            )
            return delay
        away = self.ended()
        if away is not None:
            log.warning("chain node reachable again after %.0f s; anchoring resumes", away)
        return None


__all__ = ["NodeWatch", "unreachable"]
