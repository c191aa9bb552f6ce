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
    """credential id -> the root of the batch that anchored it."""
    return dict(_query(home, "SELECT c.id, b.root FROM credential c JOIN batch b ON b.id = c.batch_id"))


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
    assert set(roots_at_restore) < set(roots)
    assert len({r for r, _ in roots}) == len(roots) and len({t for _, t in roots}) == len(roots)
    # nothing anchored twice: a credential anchored when the snapshot was taken keeps its batch, and the
    # restored directory's new batches are its own. A credential still pending in the snapshot that the
    # original anchored afterwards IS anchored again by the restored directory (a known gap: docs/operations.md).
    original, after_restore = _anchored(home), _anchored(restored)
    at_snapshot = {c for c, root in after_restore.items() if root in {r for r, _ in roots_at_restore}}
    assert at_snapshot and all(original[c] == after_restore[c] for c in at_snapshot)
    new_roots = {r for r, _ in roots} - {r for r, _ in roots_at_restore}
    assert new_roots and not new_roots & set(original.values())


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
