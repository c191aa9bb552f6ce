"""A bulk upload's output (issue-bulk --out-dir), written as the bundles are delivered, here or in the
forked worker that builds them, on a real anvil: bundles.jsonl (or one file per bundle) holds each
bundle ``get_bundle`` gives, links.csv each credential's share link, and that link opens the stored
share; credentials outside the upload get nothing; what was delivered before (elsewhere) is written
by ``finish``; nothing is left under the final names when the upload fails."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta

import pytest

from ledger.content.links import parse_share_link
from ledger.content.local_store import LocalContentStore
from ledger.content.share import decrypt_share
from ledger.issuance import anchor_once, delivery, get_bundle, issue_many, rows_from_objects
from ledger.issuance.assembly import attach_shares
from ledger.issuance.context import BundleSink
from ledger.issuance.delivery import sink_of
from ledger.issuance.upload_output import LINES_NAME, LINKS_NAME, UploadOutput, earlier_output
from tests.integration.issuance_support import DEGREE, EDU, degree_subject, issuer_world, make_context  # noqa: F401

VERIFIER = "https://verify.example/"


def _issue(ctx, n: int, prefix: str):
    return issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject(f"{prefix}{i}") for i in range(n)])).issued


def _bundles(out, one_file_each: bool) -> dict:
    """credential id -> bundle (parsed) of what the upload wrote."""
    if one_file_each:
        texts = [p.read_bytes() for p in sorted(out.glob("*.json"))]
    else:
        texts = (out / LINES_NAME).read_bytes().splitlines()
    bundles = [json.loads(text) for text in texts]
    by_id = {b["credential"]["id"]: b for b in bundles}
    assert len(by_id) == len(bundles), "a bundle written twice"
    return by_id


def _check(ctx, store, out, upload, one_file_each: bool) -> None:
    bundles = _bundles(out, one_file_each)
    assert len(bundles) == len(upload)  # each once, outsiders none
    for row in upload:
        assert bundles[row.id] == json.loads(get_bundle(ctx, EDU, row.id).to_bytes())
    with open(out / LINKS_NAME, newline="", encoding="utf-8") as f:
        links = list(csv.DictReader(f))
    assert sorted((int(r["row"]), r["credentialId"]) for r in links) == sorted((r.row, r.id) for r in upload)
    for line in links:  # each link opens its credential's bundle
        link = parse_share_link(line["link"])
        assert link.verifier_url == "https://verify.example"
        assert json.loads(decrypt_share(store.get(link.cid), link.key)) == bundles[line["credentialId"]]
    if one_file_each:
        assert sorted(p.name for p in out.iterdir()) == sorted([f"{r.row:06d}.json" for r in upload] + [LINKS_NAME])
    else:
        assert sorted(p.name for p in out.iterdir()) == [LINES_NAME, LINKS_NAME]


@pytest.mark.parametrize("where", ["here", "worker-process"])
@pytest.mark.parametrize("one_file_each", [False, True], ids=["lines", "files"])
def test_output_is_written_during_delivery(issuer_world, tmp_path, monkeypatch, where, one_file_each):
    monkeypatch.setattr(delivery, "CHUNK", 4)
    monkeypatch.setattr(delivery, "PARALLEL_MIN", 10 if where == "worker-process" else 1000)
    if where == "worker-process":  # other tests' idle threads may still run in this process
        monkeypatch.setattr(delivery, "_can_fork", lambda: True)
    ctx = make_context(issuer_world, f"sqlite:///{tmp_path / 'db.sqlite'}")
    store = LocalContentStore(tmp_path / "content")
    shares = attach_shares(ctx, store)
    outsider = _issue(ctx, 2, "other")  # waiting too: closed into the same batch
    upload = _issue(ctx, 9, "row")
    out = tmp_path / "out"
    out.mkdir()
    seen = []
    rows = {row.id: row.row for row in upload}
    with UploadOutput(out, rows, VERIFIER, one_file_each=one_file_each, progress=seen.append) as output:
        ctx.bundle_sink = output.around(sink_of(ctx))
        report = anchor_once(ctx, flush=True)
        assert len(report.completed) == 1
        assert output.written == set(rows) and output.linked == set(rows)  # all during delivery
        assert seen[-1] == 9 and seen == sorted(seen) and len(seen) == 3  # counted as each chunk was stored
        assert output.finish(ctx, EDU, shares) == 0
    _check(ctx, store, out, upload, one_file_each)
    assert earlier_output(out)  # a second upload here is refused (the CLI)
    for row in outsider:  # the outsiders' shares went to the store as before
        shares.link(EDU, row.id, VERIFIER)
    if not one_file_each:  # lines follow the rows
        ids = [json.loads(line)["credential"]["id"] for line in (out / LINES_NAME).read_bytes().splitlines()]
        assert ids == [row.id for row in upload]
    ctx.engine.dispose()


@pytest.mark.parametrize("one_file_each", [False, True], ids=["lines", "files"])
def test_output_of_bundles_delivered_before_is_written_by_finish(issuer_world, tmp_path, one_file_each):
    ctx = make_context(issuer_world, f"sqlite:///{tmp_path / 'db.sqlite'}")
    store = LocalContentStore(tmp_path / "content")
    shares = attach_shares(ctx, store)
    upload = _issue(ctx, 5, "early")
    anchor_once(ctx, flush=True)  # delivered without the output (another process, say)
    out = tmp_path / "out"
    out.mkdir()
    with UploadOutput(out, {row.id: row.row for row in upload}, VERIFIER, one_file_each=one_file_each) as output:
        ctx.bundle_sink = output.around(sink_of(ctx))
        anchor_once(ctx, flush=True)
        assert output.written == set() and output.linked == set()
        assert output.finish(ctx, EDU, shares) == 5
        assert output.finish(ctx, EDU, shares) == 0
    _check(ctx, store, out, upload, one_file_each)
    ctx.engine.dispose()


def test_a_failed_upload_leaves_nothing_under_the_final_names(issuer_world, tmp_path):
    ctx = make_context(issuer_world, f"sqlite:///{tmp_path / 'db.sqlite'}")
    shares = attach_shares(ctx, LocalContentStore(tmp_path / "content"))
    upload = _issue(ctx, 3, "fail")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(RuntimeError):
        with UploadOutput(out, {row.id: row.row for row in upload}, VERIFIER) as output:
            ctx.bundle_sink = output.around(sink_of(ctx))
            anchor_once(ctx, flush=True)
            output.finish(ctx, EDU, shares)
            raise RuntimeError("the command failed after writing")
    assert not (out / LINES_NAME).exists() and not (out / LINKS_NAME).exists()
    assert earlier_output(out) == []
    ctx.engine.dispose()


def test_lines_written_before_a_failed_delivery_are_not_repeated(issuer_world, tmp_path, monkeypatch):
    monkeypatch.setattr(delivery, "CHUNK", 4)
    monkeypatch.setattr(delivery, "PARALLEL_MIN", 4)
    monkeypatch.setattr(delivery, "_can_fork", lambda: True)  # the worker writes lines ahead of the storing
    clock = [datetime(2030, 1, 1, tzinfo=UTC)]
    ctx = make_context(issuer_world, f"sqlite:///{tmp_path / 'db.sqlite'}", clock=lambda: clock[0])
    store = LocalContentStore(tmp_path / "content")
    shares = attach_shares(ctx, store)
    working, calls = ctx.bundle_sink, []

    def store_failing_once(prepared):  # the second chunk's storing fails, the first time only
        calls.append(len(prepared))
        if len(calls) == 2:
            raise OSError("the content store went away")
        return working.store(prepared)

    ctx.bundle_sink = BundleSink(working.prepare, store_failing_once)
    upload = _issue(ctx, 10, "again")
    out = tmp_path / "out"
    out.mkdir()
    with UploadOutput(out, {row.id: row.row for row in upload}, VERIFIER) as output:
        ctx.bundle_sink = output.around(ctx.bundle_sink)
        assert anchor_once(ctx, flush=True).retrying
        clock[0] += timedelta(hours=1)  # past the backoff
        assert anchor_once(ctx).completed
        assert output.finish(ctx, EDU, shares) == 0
    _check(ctx, store, out, upload, False)  # each bundle once, each link opens its share
    ctx.engine.dispose()
