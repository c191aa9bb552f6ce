"""Crash injection for the crash-safety tests, installed by the test's own process runners (never by
production code): :func:`kill_at` is a step hook (``IssuanceContext.on_step``) that makes the process
kill itself with SIGKILL (no cleanup, no flush: what kill -9 or a power cut does) when the anchoring
pipeline reaches the named step (``ledger.issuance.context.ANCHORING_STEPS``)."""

from __future__ import annotations

import logging
import os
import signal

from ledger.issuance.context import ANCHORING_STEPS, StepHook, no_step


def kill_at(step: str | None) -> StepHook:
    """A hook that SIGKILLs this process at ``step``; with None, the no-op hook."""
    if step is None:
        return no_step
    if step not in ANCHORING_STEPS:
        raise ValueError(f"unknown anchoring step {step!r}: one of {', '.join(ANCHORING_STEPS)}")

    def hook(name: str) -> None:
        if name == step:
            logging.getLogger(__name__).warning("crash injected at %s", name)
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


__all__ = ["ANCHORING_STEPS", "kill_at"]
