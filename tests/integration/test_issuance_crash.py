"""Crash safety of the anchoring pipeline with real processes: the anchorer (tests/integration/
crash_runner.py) is killed with SIGKILL at each injected point in turn, restarted, and in the end
every credential is anchored exactly once (one Anchored event per root, each digest in exactly one
completed batch), every bundle was delivered and verifies VALID. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ledger.governance.accounts import fund_on_anvil
from ledger.governance.agency_keys import create_or_load_agency_keys
from ledger.governance.onboarding import onboard_agency
from ledger.issuance import get_bundle, issue_many, rows_from_objects
from ledger.protocol.digest import to_hex32
from ledger.storage.tables import BATCH, CRED
from ledger.verification import Verdict
from tests.conftest import deploy_fresh
from tests.integration.conftest import World
from tests.integration.crash_hooks import ANCHORING_STEPS
from tests.integration.issuance_support import (
    CIVIL,
    DEGREE,
    EDU,
    RESIDENCE,
    TEST_PASSPHRASE,
    IssuerWorld,
    degree_subject,
    make_context,
    residence_subject,
    verdict,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def crash_world(w3, anvil, tmp_path):
    """A fresh deployment (so every Anchored event on it is ours) and agencies whose keys live,
    encrypted, in a data directory the anchorer process loads them from."""
    deployed = deploy_fresh(w3, anvil.rpc_url)
    world = World(deployed["deployment"], deployed["registry"], {}, anvil.rpc_url, anvil.chain_id)
    data_dir = tmp_path / "data"
    keys = {}
    for code, name, types in (
        (EDU, "杭州市教育局 Hangzhou Education Bureau", [DEGREE]),
        (CIVIL, "杭州市民政局 Hangzhou Civil Affairs Bureau", [RESIDENCE]),
    ):
        k = create_or_load_agency_keys(data_dir, code, TEST_PASSPHRASE)
        fund_on_anvil(anvil.rpc_url, k.operator.address)
        onboard_agency(world.registry, code, name, k.operator.address, k.signing_key.public_key.raw, types)
        keys[code] = k
    deployment_file = tmp_path / "deployment.json"
    deployment_file.write_text(json.dumps(world.deployment.to_dict()))
    return IssuerWorld(world, keys), data_dir, deployment_file


def anchorer_command(database_url, data_dir, deployment_file, rpc_url, bundles_dir, crash_at=None) -> list[str]:
    """tests/integration/crash_runner.py: one anchorer in a process of its own (batches of 3)."""
    return [
        sys.executable,
        "-m",
        "tests.integration.crash_runner",
        "--data-dir",
        str(data_dir),
        "--database-url",
        database_url,
        "--rpc-url",
        rpc_url,
        "--deployment",
        str(deployment_file),
        "--max-size",
        "3",
        "--bundles-dir",
        str(bundles_dir),
        *(["--crash-at", crash_at] if crash_at else []),
    ]


def anchorer_env() -> dict:
    return {**os.environ, "CERTLEDGER_KEY_PASSPHRASE": TEST_PASSPHRASE}


def run_anchorer_process(database_url, data_dir, deployment_file, rpc_url, bundles_dir, crash_at=None):
    command = anchorer_command(database_url, data_dir, deployment_file, rpc_url, bundles_dir, crash_at)
    return subprocess.run(command, cwd=REPO, env=anchorer_env(), capture_output=True, text=True, timeout=180)


def test_kill_9_at_every_point_then_restart_anchors_everything_exactly_once(crash_world, database_url, tmp_path):
    iw, data_dir, deployment_file = crash_world
    world = iw.world
    ctx = make_context(iw, database_url)
    bundles_dir = tmp_path / "bundles"
    bundles_dir.mkdir()
    edu = issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject(f"学生{i}") for i in range(10)])).issued
    civil = issue_many(
        ctx, CIVIL, RESIDENCE, rows_from_objects([residence_subject(f"居民{i}") for i in range(2)])
    ).issued

    run = lambda crash_at=None: run_anchorer_process(  # noqa: E731
        database_url, data_dir, deployment_file, world.rpc_url, bundles_dir, crash_at
    )
    for point in ANCHORING_STEPS:
        proc = run(point)
        assert proc.returncode == -signal.SIGKILL, f"{point}: did not crash there\n{proc.stderr[-3000:]}"
        assert f"crash injected at {point}" in proc.stderr
    # and once more in the middle of a restart's recovery
    proc = run("after_confirm")
    assert proc.returncode in (0, -signal.SIGKILL), proc.stderr[-3000:]
    proc = run()
    assert proc.returncode == 0, proc.stderr[-3000:]

    with ctx.engine.connect() as conn:
        batches = conn.execute(select(BATCH)).all()
        cred_rows = conn.execute(select(CRED.c.id, CRED.c.digest, CRED.c.state, CRED.c.batch_id)).all()
        per_batch = dict(conn.execute(select(CRED.c.batch_id, func.count()).group_by(CRED.c.batch_id)).all())
    assert {b.state for b in batches} == {"completed"}
    assert sorted(b.count for b in batches) == [1, 2, 3, 3, 3]
    assert all(per_batch[b.id] == b.count for b in batches)  # each digest in exactly one batch
    assert len(cred_rows) == 12 and {r.state for r in cred_rows} == {"anchored"}
    assert len({r.digest for r in cred_rows}) == 12

    anchored_roots = _anchored_roots(world)
    assert anchored_roots == Counter({b.root: 1 for b in batches})  # one anchor per root, none other

    for issued, agency in [(r, EDU) for r in edu] + [(r, CIVIL) for r in civil]:
        bundle = get_bundle(ctx, agency, issued.id)
        v, codes = verdict(world, bundle)
        assert v is Verdict.VALID, codes
        stored = bundles_dir / (issued.id.removeprefix("urn:uuid:") + ".json")
        assert json.loads(stored.read_bytes()) == json.loads(bundle.to_bytes())  # the content hook got it
    ctx.engine.dispose()


def _anchored_roots(world) -> Counter:
    from ledger.chain import LedgerClient

    events = LedgerClient(world.registry.w3, world.deployment.ledger).events(names=["Anchored"])
    return Counter(to_hex32(bytes(e.args["root"])) for e in events)


def test_two_anchorer_processes_at_once_anchor_each_root_once(crash_world, database_url, tmp_path):
    """Two anchorers started together on one database: the lease lets one act at a time; both finish,
    and every root is anchored exactly once."""
    iw, data_dir, deployment_file = crash_world
    world = iw.world
    ctx = make_context(iw, database_url)
    bundles_dir = tmp_path / "bundles"
    bundles_dir.mkdir()
    issued = issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject(f"学生{i}") for i in range(8)])).issued
    command = anchorer_command(database_url, data_dir, deployment_file, world.rpc_url, bundles_dir)
    procs = [
        subprocess.Popen(
            command, cwd=REPO, env=anchorer_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outputs]
    with ctx.engine.connect() as conn:
        batches = conn.execute(select(BATCH)).all()
    assert sorted(b.count for b in batches) == [2, 3, 3] and {b.state for b in batches} == {"completed"}
    assert _anchored_roots(world) == Counter({b.root: 1 for b in batches})
    for r in issued:
        assert verdict(world, get_bundle(ctx, EDU, r.id))[0] is Verdict.VALID
    ctx.engine.dispose()
