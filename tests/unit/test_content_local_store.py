"""ledger.content.local_store: the embedded content store (a directory)."""

from __future__ import annotations

import errno
import os
import threading

import pytest

from ledger.content.cid import CHUNK_SIZE, CIDError, compute_cid
from ledger.content.local_store import PACK_DIR, LocalContentStore, read_pack_index
from ledger.content.share import decrypt_share, encrypt_share
from ledger.content.store import (
    ContentCorrupt,
    ContentNotFound,
    ContentStore,
    ContentStoreError,
    ContentStoreFull,
    ContentTooLarge,
)

HELLO_CID = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"


@pytest.fixture
def store(tmp_path) -> LocalContentStore:
    return LocalContentStore(tmp_path / "content")


def all_files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def damage(store, cid, new_bytes: bytes, at: int = 0) -> None:
    """Overwrite stored bytes of ``cid`` in place (a damaged disk, a write behind our back)."""
    where = store.locate(cid)
    with open(where.path, "r+b") as f:
        f.seek(where.offset + at)
        f.write(new_bytes)


def test_is_a_content_store(store):
    assert isinstance(store, ContentStore)


def test_round_trip_and_layout(store):
    cid = store.put(b"hello world")
    assert cid == HELLO_CID
    assert store.has(cid)
    assert store.get(cid) == b"hello world"
    (pack,) = all_files(store.root)
    assert pack.startswith(f"{PACK_DIR}/") and pack.endswith(".pack")
    where = store.locate(cid)
    assert where.path.read_bytes()[where.offset : where.offset + where.length] == b"hello world"


def test_cids_are_ipfs_cids(store):
    for data in (b"", os.urandom(10_240), os.urandom(CHUNK_SIZE), os.urandom(CHUNK_SIZE + 1)):
        cid = store.put(data)
        assert cid == compute_cid(data)
        assert store.get(cid) == data
    assert store.put(bytes(CHUNK_SIZE + 1)) == "bafybeigllfqgfpqydppr6cmv56g7ax4wyhruzswvcefv6j5kj77nzttfki"


def test_encrypted_share_round_trip(store):
    blob, key = encrypt_share('{"name":"张三"}'.encode())
    cid = store.put(blob)
    assert cid.startswith("bafkrei")
    assert decrypt_share(store.get(cid), key) == '{"name":"张三"}'.encode()


def test_put_is_idempotent(store):
    first = store.put(b"same bytes")
    files = all_files(store.root)
    assert store.put(b"same bytes") == first
    assert store.put(bytearray(b"same bytes")) == first
    assert store.put_many([b"same bytes", b"same bytes"]) == [first, first]
    assert all_files(store.root) == files == [store.locate(first).path.relative_to(store.root).as_posix()]


def test_put_repairs_a_truncated_object(store):
    cid = store.put(b"0123456789")
    damage(store, cid, b"xxxxx", at=5)
    with pytest.raises(ContentCorrupt):
        store.get(cid)
    assert store.put(b"0123456789") == cid
    assert store.get(cid) == b"0123456789"


def test_concurrent_puts_of_the_same_bytes(store):
    data = os.urandom(100_000)
    results = []
    threads = [threading.Thread(target=lambda: results.append(store.put(data))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(results) == {compute_cid(data)}
    assert store.get(results[0]) == data
    assert len(all_files(store.root)) == 1


def test_not_found(store):
    assert not store.has(HELLO_CID)
    with pytest.raises(ContentNotFound) as info:
        store.get(HELLO_CID)
    assert info.value.cid == HELLO_CID
    with pytest.raises(ContentNotFound):
        store.pin(HELLO_CID)


def test_pin_present_object(store):
    cid = store.put(b"keep me")
    store.pin(cid)
    assert store.has(cid)


def test_corrupt_object_detected_on_read(store):
    cid = store.put(b"original content")
    damage(store, cid, b"T", at=15)
    with pytest.raises(ContentCorrupt, match="corrupt") as info:
        store.get(cid)
    assert info.value.cid == cid
    assert isinstance(info.value, ContentStoreError)


def test_corrupt_multi_chunk_object_detected(store):
    data = os.urandom(CHUNK_SIZE * 2 + 1)
    cid = store.put(data)
    damage(store, cid, bytes([data[CHUNK_SIZE + 10] ^ 0xFF]), at=CHUNK_SIZE + 10)
    with pytest.raises(ContentCorrupt):
        store.get(cid)


@pytest.mark.parametrize(
    "bad",
    ["", "QmRaaUwTNfwgFZpeUy8qrZwrp2dY4kCKmmB5xEqvH3vtD1", "../../etc/passwd", HELLO_CID.upper(), HELLO_CID + "/x"],
)
def test_malformed_cids_are_refused(store, bad):
    for op in (store.get, store.has, store.pin):
        with pytest.raises(CIDError):
            op(bad)


# -- disk full -----------------------------------------------------------------------------------


def enospc_half_way(file, data):
    file.write(data[: len(data) // 2])
    file.flush()
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_disk_full_leaves_nothing(tmp_path):
    store = LocalContentStore(tmp_path / "content", writer=enospc_half_way)
    with pytest.raises(ContentStoreFull, match="full") as info:
        store.put(b"x" * 5000)
    assert info.value.cid == compute_cid(b"x" * 5000)
    assert all_files(store.root) == []  # no temp file, no partial object
    assert not store.has(compute_cid(b"x" * 5000))


def test_quota_refuses_before_writing(tmp_path):
    store = LocalContentStore(tmp_path / "content", max_bytes=10_000)
    a = store.put(b"a" * 6000)
    with pytest.raises(ContentStoreFull, match="quota of 10,000 bytes"):
        store.put(b"b" * 5000)
    assert len(all_files(store.root)) == 1
    assert store.put(b"a" * 6000) == a  # idempotent put still fine when full
    store.put(b"c" * 4000)  # exactly at the quota
    assert store.used_bytes() == 10_000


def test_quota_counts_what_is_already_on_disk(tmp_path):
    LocalContentStore(tmp_path / "content").put(b"z" * 8000)
    reopened = LocalContentStore(tmp_path / "content", max_bytes=10_000)
    with pytest.raises(ContentStoreFull):
        reopened.put(b"y" * 3000)


def test_other_write_errors_are_store_errors_and_clean_up(tmp_path):
    def eio(file, data):
        file.write(b"partial")
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    store = LocalContentStore(tmp_path / "content", writer=eio)
    with pytest.raises(ContentStoreError, match="could not store") as info:
        store.put(b"data")
    assert not isinstance(info.value, ContentStoreFull)
    assert all_files(store.root) == []


def test_interrupted_write_leaves_nothing(tmp_path):
    def interrupted(file, data):
        file.write(data[:10])
        raise KeyboardInterrupt

    store = LocalContentStore(tmp_path / "content", writer=interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.put(b"0123456789abcdef")
    assert all_files(store.root) == []


def test_object_size_limit(tmp_path):
    store = LocalContentStore(tmp_path / "content", max_object_bytes=100)
    store.put(b"x" * 100)
    with pytest.raises(ContentTooLarge):
        store.put(b"x" * 101)
    big = LocalContentStore(tmp_path / "content")
    cid = big.put(b"y" * 200)
    with pytest.raises(ContentTooLarge):
        store.get(cid)


# -- batches (put_many) and packs ---------------------------------------------------------------


def test_put_many_writes_one_pack_and_returns_cids_in_order(store):
    blobs = [os.urandom(100 + i) for i in range(50)] + [b"hello world"]
    cids = store.put_many(blobs + [blobs[0]])
    assert cids == [compute_cid(b) for b in blobs] + [compute_cid(blobs[0])]
    (pack,) = all_files(store.root)
    entries = read_pack_index(store.root / pack)
    assert len(entries) == len(blobs)  # the repeated object stored once
    assert all(store.get(cid) == blob for cid, blob in zip(cids, blobs))
    assert store.put_many([]) == []


def test_another_instance_sees_objects_written_after_it_started(tmp_path):
    reader = LocalContentStore(tmp_path / "content")
    assert not reader.has(HELLO_CID)
    writer = LocalContentStore(tmp_path / "content")
    writer.put_many([b"hello world", b"more"])
    assert reader.has(HELLO_CID) and reader.get(HELLO_CID) == b"hello world"  # looks again on a miss
    assert reader.used_bytes() == len(b"hello world") + len(b"more")


def test_objects_of_the_one_file_per_object_layout_are_read(tmp_path):
    store = LocalContentStore(tmp_path / "content")
    legacy = store.root / HELLO_CID[-3:-1] / HELLO_CID
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(b"hello world")
    assert store.has(HELLO_CID) and store.get(HELLO_CID) == b"hello world"
    legacy.write_bytes(b"hello world!")
    with pytest.raises(ContentCorrupt):
        store.get(HELLO_CID)


def test_a_damaged_pack_table_loses_only_that_pack(tmp_path):
    first = LocalContentStore(tmp_path / "content")
    kept = first.put(b"kept")
    lost = first.put(b"lost")
    pack = first.locate(lost).path
    data = bytearray(pack.read_bytes())
    data[-50] ^= 0x01  # inside the entry table
    pack.write_bytes(bytes(data))
    reopened = LocalContentStore(tmp_path / "content")
    assert reopened.get(kept) == b"kept"
    assert not reopened.has(lost)
    assert reopened.put(b"lost") == lost and reopened.get(lost) == b"lost"


def test_temporary_files_are_not_objects(store):
    cid = store.put(b"x")
    (store.root / PACK_DIR / ".tmp-left-by-a-crash").write_bytes(b"CLPACK1\ngarbage")
    assert LocalContentStore(store.root).get(cid) == b"x"


def test_quota_stores_what_fits_of_a_batch(tmp_path):
    store = LocalContentStore(tmp_path / "content", max_bytes=10_000)
    blobs = [bytes([i]) * 4000 for i in range(4)]
    with pytest.raises(ContentStoreFull) as info:
        store.put_many(blobs)
    assert info.value.stored == [compute_cid(b) for b in blobs[:2]]
    assert [store.has(compute_cid(b)) for b in blobs] == [True, True, False, False]


def test_disk_full_in_a_batch_keeps_nothing_of_it(tmp_path):
    calls = []

    def full_on_third(file, data):
        calls.append(1)
        if len(calls) == 3:
            enospc_half_way(file, data)
        file.write(data)

    store = LocalContentStore(tmp_path / "content", writer=full_on_third)
    present = store.put(b"present")  # call 1
    with pytest.raises(ContentStoreFull) as info:
        store.put_many([b"present", b"new 1", b"new 2", b"new 3"])
    assert info.value.stored == [present]
    assert len(all_files(store.root)) == 1  # the first pack only: no temporary file
    assert not store.has(compute_cid(b"new 1"))
    assert store.put_many([b"new 1", b"new 2"]) == [compute_cid(b"new 1"), compute_cid(b"new 2")]


def test_object_too_large_in_a_batch(tmp_path):
    store = LocalContentStore(tmp_path / "content", max_object_bytes=10)
    with pytest.raises(ContentTooLarge) as info:
        store.put_many([b"small", b"x" * 11, b"after"])
    assert info.value.stored == [compute_cid(b"small")]  # what came before it is stored
    assert store.get(compute_cid(b"small")) == b"small"
    assert not store.has(compute_cid(b"after"))
