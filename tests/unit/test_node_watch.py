"""NodeWatch: an unreachable chain node pauses anchoring with a growing, capped delay; the first
answer ends the pause. (The real outage, with a real anvil stopped for 30 s, is in
tests/reliability/test_chain_outage.py.)"""

from __future__ import annotations

import logging
from types import SimpleNamespace

import requests

from ledger.chain import NodeUnreachable
from ledger.issuance.node_watch import NodeWatch


class FlakyNode:
    def __init__(self):
        self.error: Exception | None = None

    @property
    def block_number(self) -> int:
        if self.error is not None:
            raise self.error
        return 7


def context(node: FlakyNode, urls=("https://rpc.example.org:8545/v3/SECRET-API-KEY",)):
    return SimpleNamespace(chain=SimpleNamespace(w3=SimpleNamespace(eth=node), rpc_urls=list(urls)))


def test_backoff_grows_to_the_cap_then_resumes(caplog):
    node, now = FlakyNode(), [100.0]
    watch = NodeWatch(first_delay_s=1, max_delay_s=15, clock=lambda: now[0])
    ctx = context(node)
    assert watch.check(ctx) is None and watch.reachable
    node.error = NodeUnreachable(["x"], requests.ConnectionError("[Errno 111] Connection refused"))
    delays = []
    with caplog.at_level(logging.WARNING, logger="ledger.issuance.anchoring"):
        for _ in range(7):
            delays.append(watch.check(ctx))
            now[0] += delays[-1]
        assert delays == [1, 2, 4, 8, 15, 15, 15] and not watch.reachable
        node.error = None
        assert watch.check(ctx) is None and watch.reachable
    lines = [r.getMessage() for r in caplog.records]
    assert "Connection refused" in lines[0] and "anchoring paused" in lines[0]
    assert lines[-1] == "chain node reachable again after 60 s; anchoring resumes"
    assert not any("SECRET-API-KEY" in line for line in lines)  # provider keys in URLs stay out of logs
    # a second outage starts from the first delay again
    node.error = requests.ConnectionError("refused")
    assert watch.check(ctx) == 1


def test_an_answering_node_with_an_error_does_not_pause():
    node = FlakyNode()
    node.error = ValueError("garbled reply")
    assert NodeWatch().check(context(node)) is None
