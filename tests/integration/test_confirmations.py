"""`chain.confirmations` (the runbook's answer to deep reorganisations): a batch is confirmed, and its
bundles made, only once its anchor is that many blocks deep."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from ledger.issuance import anchor_once, issue_one
from ledger.storage.tables import BATCH
from tests.integration.conftest import degree
from tests.integration.issuance_support import DEGREE, EDU, issuer_world, make_context  # noqa: F401 - fixture

pytestmark = pytest.mark.integration


def test_a_batch_waits_for_its_confirmations(issuer_world, tmp_path):  # noqa: F811 - the fixture
    ctx = make_context(issuer_world, f"sqlite:///{tmp_path / 'confirmations.db'}")
    ctx.chain.confirmations = 3
    issue_one(ctx, EDU, DEGREE, degree("确认"))
    seen: list[str] = []

    def mine_later() -> None:
        time.sleep(1.5)  # the anchor is mined by now and waits for its depth
        with ctx.engine.connect() as conn:
            seen.append(conn.execute(select(BATCH.c.state)).scalar_one())
        for _ in range(2):  # two blocks on top of the anchor's: three confirmations
            ctx.chain.w3.provider.make_request("evm_mine", [])

    miner = threading.Thread(target=mine_later)
    miner.start()
    report = anchor_once(ctx, flush=True)
    miner.join()
    assert seen == ["sent"]  # not confirmed while only one block deep
    assert len(report.confirmed) == 1
    with ctx.engine.connect() as conn:
        state, block = conn.execute(select(BATCH.c.state, BATCH.c.block_number)).one()
    assert state == "completed" and ctx.chain.w3.eth.block_number >= block + 2
