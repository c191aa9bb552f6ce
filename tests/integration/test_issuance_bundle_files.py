"""Bundle files of a bulk upload (issue-bulk --out-dir) written as the bundles are delivered, here or
in the forked worker that builds them, on a real anvil: each file is the bundle ``get_bundle``
gives (compact JSON), the shares are stored as before, credentials outside the upload get no file,
and files whose bundles were delivered before (elsewhere) are written afterwards."""
from __future__ import annotations

import json

import pytest

from ledger.content.local_store import LocalContentStore
from ledger.issuance import anchor_once, get_bundle, issue_many, rows_from_objects
from ledger.issuance import delivery
from ledger.issuance.bundle_files import BundleFiles
from ledger.issuance.delivery import sink_of
from ledger.issuance.wiring import attach_shares

from .issuance_support import DEGREE, EDU, degree_subject, issuer_world, make_context  # noqa: F401


def _issue(ctx, n: int, prefix: str):
    return issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject(f"{prefix}{i}") for i in range(n)])).issued


@pytest.mark.parametrize("where", ["here", "worker-process"])
def test_files_are_written_during_delivery(issuer_world, tmp_path, monkeypatch, where):
    monkeypatch.setattr(delivery, "CHUNK", 4)
    monkeypatch.setattr(delivery, "PARALLEL_MIN", 10 if where == "worker-process" else 1000)
    if where == "worker-process":   # other tests' idle threads may still run in this process
        monkeypatch.setattr(delivery, "_can_fork", lambda: True)
    ctx = make_context(issuer_world, f"sqlite:///{tmp_path / 'db.sqlite'}")
    shares = attach_shares(ctx, LocalContentStore(tmp_path / "content"))
    outsider = _issue(ctx, 2, "other")              # waiting too: sealed into the same batch
    upload = _issue(ctx, 9, "row")
    out = tmp_path / "bundles"
    out.mkdir()
    seen = []
    files = BundleFiles(out, {row.id: f"{row.row:06d}.json" for row in upload}, progress=seen.append)
    ctx.bundle_sink = files.around(sink_of(ctx))
    report = anchor_once(ctx, flush=True)
    assert len(report.completed) == 1
    assert files.written == {row.id for row in upload}
    assert seen[-1] == 9 and seen == sorted(seen) and len(seen) == 3      # counted as each chunk was stored
    assert sorted(p.name for p in out.iterdir()) == [f"{r.row:06d}.json" for r in upload]
    for row in upload:
        assert json.loads((out / f"{row.row:06d}.json").read_bytes()) == json.loads(get_bundle(ctx, EDU, row.id).to_bytes())
    assert shares.pending_count() == 0
    for row in upload + outsider:                   # the shares, outsiders' too, went to the store as before
        shares.link(EDU, row.id, "https://verify.example")
    assert files.write_missing(ctx, EDU) == 0
    ctx.engine.dispose()


def test_files_of_bundles_delivered_before_are_written_afterwards(issuer_world, tmp_path):
    ctx = make_context(issuer_world, f"sqlite:///{tmp_path / 'db.sqlite'}")
    upload = _issue(ctx, 5, "early")
    anchor_once(ctx, flush=True)                    # delivered without the files (another process, say)
    out = tmp_path / "bundles"
    out.mkdir()
    files = BundleFiles(out, {row.id: f"{row.row:06d}.json" for row in upload})
    ctx.bundle_sink = files.around(sink_of(ctx))
    anchor_once(ctx, flush=True)
    assert files.written == set()
    assert files.write_missing(ctx, EDU) == 5
    for row in upload:
        assert json.loads((out / f"{row.row:06d}.json").read_bytes()) == json.loads(get_bundle(ctx, EDU, row.id).to_bytes())
    assert files.write_missing(ctx, EDU) == 0
    ctx.engine.dispose()
