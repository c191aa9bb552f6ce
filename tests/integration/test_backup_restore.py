"""Backup under issuance load, restored into a fresh data directory, on a real anvil (issue 22, item 5)."""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest

from certledger.cli import main

pytestmark = pytest.mark.integration

SUBJECT = {"name": "张三", "degree": "学士", "major": "数学", "institution": "浙江大学", "graduationDate": "2024-06-30"}


def cli(home, *args) -> int:
    return main(["--data-dir", str(home), *args])


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    for args in (
        ["init", "--port", "0"],
        ["chain", "up"],
        ["deploy"],
        ["agency", "register", "zj-hz-education", "--name", "杭州市教育局", "--types", "DegreeCertificate"],
    ):
        assert cli(home, *args) == 0
    yield home
    cli(home, "chain", "down")


def _issue(home, subject_file, out) -> int:
    return cli(home, "issue", "--type", "DegreeCertificate", "--subject", str(subject_file), "--out", str(out))


def _roots(db) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT root, tx_hash FROM batch ORDER BY root").fetchall()


def _anchored(db) -> dict[str, str]:
    """credential id -> the root of the batch that anchored it."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT c.id, b.root FROM credential c JOIN batch b ON b.id = c.batch_id").fetchall()
    return dict(rows)


def test_backup_under_load_restores_and_issuance_continues(home, tmp_path, monkeypatch, capsys):
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
    passphrase = home / "secrets" / "passphrase"
    restored = tmp_path / "restored"
    capsys.readouterr()
    assert cli(home, "restore", str(backup), "--data-dir", str(restored), "--passphrase-file", str(passphrase)) == 0
    assert "chain up" in capsys.readouterr().out
    assert (restored / "keys" / "governance.json").exists()
    assert not (restored / "chain").exists()

    # restoring again into the now non-empty directory is refused
    assert cli(home, "restore", str(backup), "--data-dir", str(restored), "--passphrase-file", str(passphrase)) == 1
    assert "not empty" in capsys.readouterr().err

    monkeypatch.setenv("CERTLEDGER_RPC_URLS", rpc)
    for bundle in before:
        assert cli(restored, "verify", str(bundle)) == 0

    roots_at_restore = _roots(restored / "certledger.db")
    after = tmp_path / "after.json"
    assert _issue(restored, subject, after) == 0
    assert cli(restored, "verify", str(after)) == 0
    roots = _roots(restored / "certledger.db")
    assert set(roots_at_restore) < set(roots)
    assert len({r for r, _ in roots}) == len(roots) and len({t for _, t in roots}) == len(roots)
    # nothing anchored twice: a credential both directories anchored sits in the same batch in each
    original, after_restore = _anchored(home / "certledger.db"), _anchored(restored / "certledger.db")
    assert {c: original[c] for c in original.keys() & after_restore.keys()} == {
        c: after_restore[c] for c in original.keys() & after_restore.keys()
    }
    new_roots = {r for r, _ in roots} - {r for r, _ in roots_at_restore}
    assert not new_roots & set(original.values())


def test_a_tampered_backup_is_refused_before_anything_is_written(home, tmp_path, capsys):
    backup = tmp_path / "snapshot.clbak"
    assert cli(home, "backup", "--out", str(backup)) == 0
    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered = tmp_path / "tampered.clbak"
    tampered.write_bytes(bytes(data))
    restored = tmp_path / "restored"
    capsys.readouterr()
    code = cli(
        home,
        "restore",
        str(tampered),
        "--data-dir",
        str(restored),
        "--passphrase-file",
        str(home / "secrets" / "passphrase"),
    )
    assert code == 1
    assert "fails its authentication tag" in capsys.readouterr().err
    assert not restored.exists() or not any(restored.iterdir())

    truncated = tmp_path / "truncated.clbak"
    truncated.write_bytes(backup.read_bytes()[:-10])
    assert (
        cli(
            home,
            "restore",
            str(truncated),
            "--data-dir",
            str(restored),
            "--passphrase-file",
            str(home / "secrets" / "passphrase"),
        )
        == 1
    )
    assert "truncated" in capsys.readouterr().err
