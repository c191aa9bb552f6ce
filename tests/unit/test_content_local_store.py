"""ledger.content.local_store: the embedded content store (a directory)."""

from __future__ import annotations

import errno
import os
import threading

import pytest

from ledger.content.cid import CHUNK_SIZE, CIDError, compute_cid
from ledger.content.local_store import LocalContentStore
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


def test_is_a_content_store(store):
    assert isinstance(store, ContentStore)


def test_round_trip_and_layout(store):
    cid = store.put(b"hello world")
    assert cid == HELLO_CID
    assert store.has(cid)
    assert store.get(cid) == b"hello world"
    assert all_files(store.root) == [f"{cid[-3:-1]}/{cid}"]
    assert store.path_of(cid).read_bytes() == b"hello world"


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
    mtime = store.path_of(first).stat().st_mtime_ns
    assert store.put(b"same bytes") == first
    assert store.put(bytearray(b"same bytes")) == first
    assert store.path_of(first).stat().st_mtime_ns == mtime           # not rewritten
    assert len(all_files(store.root)) == 1


def test_put_repairs_a_truncated_object(store):
    cid = store.put(b"0123456789")
    store.path_of(cid).write_bytes(b"01234")
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
    path = store.path_of(cid)
    path.write_bytes(b"original contenT")
    with pytest.raises(ContentCorrupt, match="corrupt") as info:
        store.get(cid)
    assert info.value.cid == cid
    assert isinstance(info.value, ContentStoreError)


def test_corrupt_multi_chunk_object_detected(store):
    data = os.urandom(CHUNK_SIZE * 2 + 1)
    cid = store.put(data)
    damaged = bytearray(data)
    damaged[CHUNK_SIZE + 10] ^= 0xFF
    store.path_of(cid).write_bytes(bytes(damaged))
    with pytest.raises(ContentCorrupt):
        store.get(cid)


@pytest.mark.parametrize("bad", ["", "QmRaaUwTNfwgFZpeUy8qrZwrp2dY4kCKmmB5xEqvH3vtD1", "../../etc/passwd",
                                 HELLO_CID.upper(), HELLO_CID + "/x"])
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
    assert all_files(store.root) == []                     # no temp file, no partial object
    assert not store.has(compute_cid(b"x" * 5000))


def test_quota_refuses_before_writing(tmp_path):
    store = LocalContentStore(tmp_path / "content", max_bytes=10_000)
    a = store.put(b"a" * 6000)
    with pytest.raises(ContentStoreFull, match="quota of 10,000 bytes"):
        store.put(b"b" * 5000)
    assert all_files(store.root) == [f"{a[-3:-1]}/{a}"]
    assert store.put(b"a" * 6000) == a                     # idempotent put still fine when full
    store.put(b"c" * 4000)                                  # exactly at the quota
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
