"""Is the database answering? While it is not, a background loop (anchoring, the content retry
queue) pauses with a growing delay instead of logging a traceback every round.

A stopped or restarting database (``ledger.storage.db.database_unavailable``) is nobody's bug: each
failed round logs one line naming the database (scheme://host:port/name: never the user or the
password) and waits 1, 2, 4 … ``max_delay_s`` seconds; the first round that gets through says how
long it was away. Any other error is the caller's to report, traceback and all.
"""

from __future__ import annotations

import logging
import time

from ledger.issuance.outage import Outage, root_cause
from ledger.storage.db import database_unavailable


def where(url) -> str:
    """A SQLAlchemy URL without its credentials (and without its query, which may carry a password too)."""
    host = f"{url.host}{f':{url.port}' if url.port else ''}" if url.host else ""
    return f"{url.get_backend_name()}://{host}/{url.database or ''}"


class DatabaseWatch(Outage):
    def __init__(
        self,
        engine,
        activity: str,
        log: logging.Logger,
        first_delay_s: float = 1.0,
        max_delay_s: float = 15.0,
        clock=time.monotonic,
    ):
        super().__init__(first_delay_s, max_delay_s, clock)
        self.where, self.activity, self.log = where(engine.url), activity, log

    def after(self, error: BaseException | None) -> float | None:
        """After a round that ended with ``error`` (None: it went through): the pause before the next
        round while the database is unavailable, else None (any other error means the database
        answered; reporting it is the caller's)."""
        if error is None or not database_unavailable(error):
            away = self.ended()
            if away is not None:
                self.log.warning(
                    "database %s reachable again after %.0f s; %s resumes", self.where, away, self.activity
                )
            return None
        away, delay = self.failed()
        self.log.warning(
            "database %s unavailable (%s) for %.0f s; %s paused; next try in %.0f s",
            self.where,
            root_cause(error),
            away,
            self.activity,
            delay,
        )
        return delay


__all__ = ["DatabaseWatch"]
