"""Crash injection for the crash-safety tests: ``CERTLEDGER_CRASH_AT=<point>`` makes the process
kill itself with SIGKILL (no cleanup, no flush: what kill -9 or a power cut does) when it reaches
that point of the anchoring pipeline. Unset, a point costs one dictionary lookup.

Points, in pipeline order: ``after_seal`` (batch sealed and committed), ``before_send``,
``after_broadcast`` (transaction broadcast, its hash not yet recorded), ``after_send`` (hash
recorded, state "sent"), ``after_receipt`` (receipt and confirmations in, not yet recorded),
``after_confirm`` (state "confirmed", bundles not yet delivered).
"""

from __future__ import annotations

import logging
import os
import signal

ENV = "CERTLEDGER_CRASH_AT"
POINTS = ("after_seal", "before_send", "after_broadcast", "after_send", "after_receipt", "after_confirm")


def crash_point(name: str) -> None:
    if os.environ.get(ENV) == name:
        logging.getLogger(__name__).warning("crash injected at %s (%s)", name, ENV)
        os.kill(os.getpid(), signal.SIGKILL)


__all__ = ["ENV", "POINTS", "crash_point"]
