"""Backup under issuance load, restored into a fresh data directory, on a real anvil (issue 22, item 5)."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import create_engine, text

from certledger.cli import main

pytestmark = pytest.mark.integration

SUBJECT = {"name": "张三", "degree": "学士", "major": "数学", "institution": "浙江大学", "graduationDate": "2024-06-30"}


def cli(home, *args) -> int:
    return main(["--data-dir", str(home), *args])


@pytest.fixture
def home(tmp_path, database_url):
    home = tmp_path / "home"
    for args in (
        ["init", "--port", "0", "--database-url", database_url],
        ["chain", "up"],
        ["deploy"],
        ["agency", "register", "zj-hz-education", "--name", "杭州市教育局", "--types", "DegreeCertificate"],
    ):
        assert cli(home, *args) == 0
    yield home
    cli(home, "chain", "down")


def _issue(home, subject_file, out) -> int:
    return cli(home, "issue", "--type", "DegreeCertificate", "--subject", str(subject_file), "--out", str(out))


def _query(home, sql: str) -> list:
    url = json.loads((home / "config.json").read_text())["database_url"]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        url = f"sqlite:///{home / url[len('sqlite:///') :]}"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _roots(home) -> list[tuple[str, str]]:
    return _query(home, "SELECT root, tx_hash FROM batch ORDER BY root")


def _anchored(home) -> dict[str, str]:
    """credential id -> the root of the batch that anchored it (or will: closed, sent); not a held group."""
    return dict(
        _query(home, "SELECT c.id, b.root FROM credential c JOIN batch b ON b.id = c.batch_id WHERE b.state <> 'held'")
    )


def _anchors_on_chain(rpc: str, home) -> int:
    """How many Anchored events the ledger holds (one agency here): one per distinct root if nothing was
    anchored twice."""
    from web3 import Web3

    from ledger.issuance.reconcile import _ANCHORED_TOPIC

    ledger = json.loads((home / "config.json").read_text())["deployment"]["ledger"]
    w3 = Web3(Web3.HTTPProvider(rpc))
    return len(
        w3.eth.get_logs({"address": Web3.to_checksum_address(ledger), "fromBlock": 0, "topics": [_ANCHORED_TOPIC]})
    )


def _context(home, rpc: str):
    from ledger.config import load_settings
    from ledger.issuance import IssuanceContext

    return IssuanceContext.from_settings(load_settings(home), [rpc])


def _rpc(home) -> str:
    record = json.loads((home / "chain" / "anvil.json").read_text())
    return f"http://{record['host']}:{record['port']}"


def _restore_args(request, home, backup, restored) -> list[str]:
    args = [
        "restore",
        str(backup),
        "--data-dir",
        str(restored),
        "--passphrase-file",
        str(home / "secrets" / "passphrase"),
    ]
    if not json.loads((home / "config.json").read_text())["database_url"].startswith("sqlite"):
        args += ["--database-url", request.getfixturevalue("postgres_server").create_database()]
    return args


def test_backup_under_load_restores_and_issuance_continues(home, tmp_path, monkeypatch, capsys, request):
    subject = tmp_path / "subject.json"
    subject.write_text(json.dumps(SUBJECT, ensure_ascii=False))
    before = [tmp_path / f"before-{i}.json" for i in range(3)]
    for bundle in before:
        assert _issue(home, subject, bundle) == 0

    stop = threading.Event()
    during: list[int] = []

    def load() -> None:
        i = 0
        while not stop.is_set():
            during.append(_issue(home, subject, tmp_path / f"during-{i}.json"))
            i += 1

    worker = threading.Thread(target=load)
    worker.start()
    try:
        backup = tmp_path / "snapshot.clbak"
        assert cli(home, "backup", "--out", str(backup)) == 0
    finally:
        stop.set()
        worker.join()
    assert during and all(code == 0 for code in during)

    # the restored directory reads the running chain; its passphrase is the original's
    record = json.loads((home / "chain" / "anvil.json").read_text())
    rpc = f"http://{record['host']}:{record['port']}"
    restored = tmp_path / "restored"
    capsys.readouterr()
    assert main(_restore_args(request, home, backup, restored)) == 0
    assert "chain up" in capsys.readouterr().out
    assert (restored / "keys" / "governance.json").exists()
    assert not (restored / "chain").exists()

    # restoring again into the now non-empty directory is refused
    assert main(_restore_args(request, home, backup, restored)) == 1
    assert "not empty" in capsys.readouterr().err

    monkeypatch.setenv("CERTLEDGER_RPC_URLS", rpc)
    for bundle in before:
        assert cli(restored, "verify", str(bundle)) == 0

    roots_at_restore = _roots(restored)
    after = tmp_path / "after.json"
    assert _issue(restored, subject, after) == 0
    assert cli(restored, "verify", str(after)) == 0
    roots = _roots(restored)
    # by root: a batch closed but not yet sent at the snapshot gets its transaction after the restore
    assert {r for r, _ in roots_at_restore} < {r for r, _ in roots}
    assert len({r for r, _ in roots}) == len(roots) and len({t for _, t in roots}) == len(roots)
    # nothing anchored twice: a credential anchored or batched when the snapshot was taken keeps its batch;
    # one still pending then was held by the restore and, the old directory having anchored it since, is
    # adopted in that anchor (or stays held when the anchor cannot be rebuilt); the restored directory's
    # own new batches hold only its own new credentials.
    original, after_restore = _anchored(home), _anchored(restored)
    shared = set(original) & set(after_restore)
    assert shared and all(original[c] == after_restore[c] for c in shared)
    assert _anchors_on_chain(rpc, home) == len({r for r, _ in roots} | set(original.values()))


def test_a_tampered_backup_is_refused_before_anything_is_written(home, tmp_path, capsys, request):
    backup = tmp_path / "snapshot.clbak"
    assert cli(home, "backup", "--out", str(backup)) == 0
    restored = tmp_path / "restored"

    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered = tmp_path / "tampered.clbak"
    tampered.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(_restore_args(request, home, tampered, restored)) == 1
    assert "fails its authentication tag" in capsys.readouterr().err
    assert not restored.exists()

    truncated = tmp_path / "truncated.clbak"
    truncated.write_bytes(backup.read_bytes()[:-10])
    assert main(_restore_args(request, home, truncated, restored)) == 1
    assert "truncated" in capsys.readouterr().err
    assert not restored.exists()

    # an edited header (here: the creation time) is bound into every chunk's tag
    edited = tmp_path / "edited.clbak"
    edited.write_bytes(backup.read_bytes().replace(b'"created":"20', b'"created":"19', 1))
    assert main(_restore_args(request, home, edited, restored)) == 1
    assert "fails its authentication tag" in capsys.readouterr().err

    wrong = tmp_path / "wrong-passphrase"
    wrong.write_text("not the passphrase\n")
    args = _restore_args(request, home, backup, restored)
    args[args.index("--passphrase-file") + 1] = str(wrong)
    assert main(args) == 1
    assert "wrong passphrase" in capsys.readouterr().err
    assert not restored.exists()


@pytest.mark.parametrize("after_backup", ["alone", "with a credential issued after the backup"])
def test_credentials_pending_at_backup_are_not_anchored_twice(
    home, tmp_path, monkeypatch, capsys, request, after_backup
):
    """Two credentials pending (issued, not anchored) when the backup is taken; the old directory then
    anchors them: alone (the restored directory rebuilds that root and adopts the anchor), or in one
    batch with a credential issued after the backup (the root cannot be rebuilt: they stay held until
    `release-held`). Either way the restore sends no second anchor for them by itself."""
    from ledger.issuance import anchor_once, get_bundle, issue_one, pending_work

    rpc = _rpc(home)
    old = _context(home, rpc)
    pending = [issue_one(old, "zj-hz-education", "DegreeCertificate", {**SUBJECT, "name": n}).id for n in "甲乙"]
    backup = tmp_path / "snapshot.clbak"
    assert cli(home, "backup", "--out", str(backup)) == 0
    if after_backup != "alone":
        issue_one(old, "zj-hz-education", "DegreeCertificate", {**SUBJECT, "name": "丙"})
    assert len(anchor_once(old, flush=True).confirmed) == 1  # the old directory anchors them after the backup
    later = issue_one(old, "zj-hz-education", "DegreeCertificate", {**SUBJECT, "name": "丁"}).id
    anchor_once(old, flush=True)  # and goes on anchoring: an anchor the restored directory never knew
    old.engine.dispose()
    anchors_before = _anchors_on_chain(rpc, home)

    restored = tmp_path / "restored"
    capsys.readouterr()
    assert main(_restore_args(request, home, backup, restored)) == 0
    assert "zj-hz-education: 2 credentials were pending in the snapshot; they are held" in capsys.readouterr().out
    monkeypatch.setenv("CERTLEDGER_RPC_URLS", rpc)
    new = _context(restored, rpc)
    mine = issue_one(new, "zj-hz-education", "DegreeCertificate", {**SUBJECT, "name": "戊"}).id
    anchor_once(new, flush=True)
    anchor_once(new)
    original, now = _anchored(home), _anchored(restored)
    assert later not in now and mine in now and now[mine] not in original.values()
    assert _anchors_on_chain(rpc, home) == anchors_before + 1  # the restored directory's own credential only
    states = dict(_query(restored, "SELECT id, state FROM credential"))
    if after_backup == "alone":  # adopted: the old anchor, confirmed from the chain, bundles delivered
        assert all(now[c] == original[c] and states[c] == "anchored" for c in pending)
        assert _query(restored, "SELECT count(*) FROM batch WHERE state = 'held'") == [(0,)]
        bundle = tmp_path / "adopted.json"
        bundle.write_bytes(get_bundle(new, "zj-hz-education", pending[0]).to_bytes())
        assert cli(restored, "verify", str(bundle)) == 0
    else:  # in doubt: held, not anchored again, and said so
        assert all(c not in now and states[c] == "pending" for c in pending)
        assert pending_work(new)["batches"] == {"held": 1}
        assert _query(restored, "SELECT last_error FROM batch WHERE state = 'held'")[0][0].startswith("in doubt")
        capsys.readouterr()
        assert cli(restored, "release-held", "zj-hz-education") == 0  # the operator's decision: anchor them anyway
        assert "2 held credentials released" in capsys.readouterr().out
        anchor_once(new, flush=True)
        assert {_anchored(restored)[c] for c in pending} - set(original.values())
        assert _anchors_on_chain(rpc, home) == anchors_before + 2
    new.engine.dispose()
