"""Fault: the embedded content store's disk is full (issue #7).

The disk is a real, small tmpfs filled up to the last byte (``mount -t tmpfs``; the test is skipped,
saying why, where mounting is not permitted). Expected: a clear ``ContentStoreFull``, no partial or
corrupt object (everything stored before still reads back and verifies), and recovery once space
returns: through the real issuer API process, issuance and anchoring carry on, the shares wait in
the retry queue (no 500 anywhere), and the content-retry thread stores each of them exactly once
when the disk has room again.
"""

from __future__ import annotations

import errno
import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from ledger.content.cid import compute_cid
from ledger.content.links import parse_share_link
from ledger.content.local_store import PACK_DIR, LocalContentStore, read_pack_index
from ledger.content.share import decrypt_share, encrypt_share
from ledger.content.store import ContentStoreFull
from ledger.storage.db import init_database
from ledger.storage.tables import CONTENT
from tests.reliability.issuer_process import (
    IssuerProcess,
    chain_down,
    degree_subject,
    issue_degrees,
    make_home,
    onboard,
    wait_anchored,
)


def mount_small_disk(where: Path, size: str = "1m") -> Path:
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(
            f"cannot mount a small tmpfs to fill up (needs root and mount permission): "
            f"{(done.stderr or done.stdout).strip()}"
        )
    return where


def unmount(where: Path) -> None:
    if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.fixture
def small_disk(tmp_path):
    disk = mount_small_disk(tmp_path / "disk")
    yield disk
    unmount(disk)


def fill(disk: Path) -> Path:
    """Write a file until the disk refuses another byte; returns it (delete it to free the space)."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f:
        for size in (65_536, 4096, 512, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    return filler


def bundle_bytes(i: int) -> bytes:
    doc = {"type": "CertLedgerBundle", "credential": {"credentialSubject": degree_subject(i), "pad": "证" * 900}}
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def no_temporary_files(root: Path) -> bool:
    return not [p for p in root.rglob("*") if p.name.startswith(".tmp-")]


def every_object_verifies(root: Path) -> int:
    """Every object of every pack reads back and hashes to its CID (get re-hashes); returns the count."""
    from ledger.content.cid import cid_text

    reader = LocalContentStore(root)
    count = 0
    for pack in (root / PACK_DIR).glob("*.pack"):
        for binary, _, _ in read_pack_index(pack):
            reader.get(cid_text(binary))
            count += 1
    return count


def test_a_full_disk_is_a_clear_error_leaves_nothing_partial_and_recovers(small_disk):
    store = LocalContentStore(small_disk / "content")
    before = [encrypt_share(bundle_bytes(i)) for i in range(5)]
    kept = store.put_many([blob for blob, _ in before])
    filler = fill(small_disk)

    shares = [encrypt_share(bundle_bytes(i)) for i in range(5, 45)]  # ~150 KB of shares
    blobs = [blob for blob, _ in shares]
    with pytest.raises(ContentStoreFull) as info:
        store.put_many([before[0][0]] + blobs)
    message = str(info.value)
    assert "is full" in message and str(store.root) in message and "nothing partial was kept" in message
    assert info.value.stored == [kept[0]]  # already there before: stored
    with pytest.raises(ContentStoreFull):
        store.put(blobs[0])

    assert no_temporary_files(small_disk)
    assert every_object_verifies(store.root) == len(kept)  # no partial or corrupt object
    reopened = LocalContentStore(store.root)
    for i, (cid, (_, key)) in enumerate(zip(kept, before)):
        assert decrypt_share(reopened.get(cid), key) == bundle_bytes(i)
    assert not any(reopened.has(compute_cid(blob)) for blob in blobs)

    filler.unlink()  # space returns
    cids = store.put_many(blobs)
    assert every_object_verifies(store.root) == len(kept) + len(blobs)
    for i, (cid, (_blob, key)) in enumerate(zip(cids, shares), start=5):
        assert decrypt_share(LocalContentStore(store.root).get(cid), key) == bundle_bytes(i)


def content_rows(database_url: str) -> list:
    engine = init_database(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(CONTENT.select().order_by(CONTENT.c.credential_id)).all()
    finally:
        engine.dispose()


def test_the_issuer_api_carries_on_with_a_full_content_disk_and_stores_the_shares_later(tmp_path):
    home = make_home(tmp_path)
    disk = mount_small_disk(home / "content")  # the embedded store's directory
    database_url = f"sqlite:///{tmp_path / 'issuer.db'}"
    issuer = IssuerProcess(
        home,
        database_url,
        tmp_path / "logs",
        env={"CERTLEDGER_BATCH_MAX_AGE_S": "1", "CERTLEDGER_CONTENT_RETRY_MAX_S": "2"},
    )
    try:
        filler = fill(disk)
        issuer.start()
        issuer.wait_ready()
        auth = {"Authorization": f"Bearer {onboard(issuer)}"}
        with httpx.Client(base_url=issuer.url, headers=auth, timeout=60) as client:
            ids = issue_degrees(client, 0, 6)
            wait_anchored(client, 90)

            # Anchored and linkable while the disk is full; the shares wait in the queue.
            deadline = time.monotonic() + 30
            while len(rows := content_rows(database_url)) < len(ids):
                assert time.monotonic() < deadline, f"bundles not delivered: {len(rows)}\n{issuer.output()[-3000:]}"
                time.sleep(0.3)
            assert not any(r.stored for r in rows) and all(r.attempts >= 1 for r in rows)
            links = {}
            for credential_id in ids:
                reply = client.get(f"/credentials/{credential_id}/share")
                assert reply.status_code == 200, reply.text
                links[credential_id] = reply.json()["link"]
            store = LocalContentStore(disk)
            assert not any(store.has(parse_share_link(link).cid) for link in links.values())
            assert no_temporary_files(disk) and every_object_verifies(disk) == 0
            output = issuer.output()
            assert "is full" in output and "retrying later" in output
            assert "Traceback" not in output

            filler.unlink()  # space returns
            deadline = time.monotonic() + 60
            while True:
                rows = content_rows(database_url)
                if all(r.stored for r in rows):
                    break
                assert time.monotonic() < deadline, (
                    f"not stored after space returned: "
                    f"{[(r.stored, r.attempts) for r in rows]}\n{issuer.output()[-3000:]}"
                )
                time.sleep(0.5)
            assert all(r.pending_blob is None for r in rows)
            assert every_object_verifies(disk) == len(ids)  # each share exactly once
            for credential_id in ids:
                reply = client.get(f"/credentials/{credential_id}/share")
                assert reply.json()["link"] == links[credential_id]  # the link given out still holds
                link = parse_share_link(links[credential_id])
                bundle = client.get(f"/credentials/{credential_id}/bundle")
                assert json.loads(decrypt_share(store.get(link.cid), link.key)) == json.loads(bundle.content)
        assert "Traceback" not in issuer.output()
    finally:
        issuer.stop()
        unmount(disk)
        chain_down(home)
