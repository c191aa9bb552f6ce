"""The content stores against a real IPFS node (js-ipfs, offline, Kubo-style RPC API).

The embedded store's CIDs must be byte-for-byte the node's: each size is added to the node with a
plain HTTP request (not through our client) and compared with LocalContentStore.put and
IpfsContentStore.put of the same bytes.
"""

from __future__ import annotations

import os
import time

import httpx
import pytest

from ledger.content.cid import compute_cid
from ledger.content.ipfs_store import IpfsContentStore
from ledger.content.links import build_share_link, parse_share_link
from ledger.content.local_store import LocalContentStore
from ledger.content.share import decrypt_share, encrypt_share
from ledger.content.store import ContentNotFound, ContentStoreUnavailable
from tests.integration.ipfs_daemon import IpfsDaemon

pytestmark = pytest.mark.integration

SIZES = [1, 10_240, 262_144, 262_145, 1_048_576, 45 * 1024 * 1024]  # 45 MiB: 180 leaves, two levels


def node_add(api_url: str, data: bytes, *, pin: bool = True) -> str:
    """`ipfs add --cid-version=1 --raw-leaves` straight over HTTP."""
    response = httpx.post(
        f"{api_url}/api/v0/add",
        params={"cid-version": "1", "raw-leaves": "true", "pin": "true" if pin else "false", "cid-base": "base32"},
        files={"file": ("blob", data, "application/octet-stream")},
        timeout=300,
    )
    response.raise_for_status()
    return response.json()["Hash"]


def node_pins(api_url: str, cid: str) -> dict:
    response = httpx.post(f"{api_url}/api/v0/pin/ls", params={"arg": cid, "cid-base": "base32"}, timeout=30)
    return response.json()


@pytest.fixture(scope="module")
def ipfs(ipfs_daemon) -> IpfsContentStore:
    return IpfsContentStore(ipfs_daemon.api_url)


@pytest.mark.parametrize("size", SIZES, ids=[f"{s:,}B" for s in SIZES])
def test_cid_equality_pin_and_round_trip(ipfs, ipfs_daemon, tmp_path, size):
    data = os.urandom(size)
    started = time.monotonic()
    node_cid = node_add(ipfs_daemon.api_url, data)
    node_seconds = time.monotonic() - started
    local_cid = LocalContentStore(tmp_path / "content").put(data)
    print(
        f"\n{size:>11,} B  node {node_cid}  local {local_cid}  "
        f"{'EQUAL' if node_cid == local_cid else 'DIFFERENT'}  (node add {node_seconds:.2f}s)"
    )
    assert local_cid == node_cid
    assert local_cid.startswith("bafkrei" if size <= 262_144 else "bafybei")

    assert ipfs.put(data) == node_cid  # idempotent on the node as well
    assert node_pins(ipfs_daemon.api_url, node_cid)["Keys"][node_cid]["Type"] == "recursive"
    assert ipfs.is_pinned(node_cid)
    assert ipfs.has(node_cid)
    assert ipfs.get(node_cid) == data


def test_put_through_the_store_pins(ipfs, ipfs_daemon):
    data = os.urandom(3000)
    cid = ipfs.put(data)
    assert cid == compute_cid(data)
    assert node_pins(ipfs_daemon.api_url, cid)["Keys"] == {cid: {"Type": "recursive"}}
    assert ipfs.put(data) == cid


def test_absent_content(ipfs):
    absent = compute_cid(os.urandom(64))
    assert not ipfs.has(absent)
    assert not ipfs.is_pinned(absent)
    with pytest.raises(ContentNotFound):
        ipfs.get(absent)
    with pytest.raises(ContentNotFound):
        ipfs.pin(absent)


def test_pin_content_added_unpinned(ipfs, ipfs_daemon):
    data = os.urandom(5000)
    cid = node_add(ipfs_daemon.api_url, data, pin=False)
    assert ipfs.has(cid)  # present, found by block/stat
    assert not ipfs.is_pinned(cid)
    ipfs.pin(cid)
    assert ipfs.is_pinned(cid)


def test_encrypted_share_through_ipfs_and_link(ipfs):
    bundle = '{"type":"CertLedgerBundle","version":1,"credential":{"name":"张三"},"anchor":null}'.encode()
    blob, key = encrypt_share(bundle)
    cid = ipfs.put(blob)
    assert cid.startswith("bafkrei")
    link = parse_share_link(build_share_link("http://127.0.0.1:8000", cid, key).url)
    assert decrypt_share(ipfs.get(link.cid), link.key) == bundle


def test_stopped_daemon_is_unavailable(tmp_path):
    daemon = IpfsDaemon(tmp_path / "repo").start()
    try:
        store = IpfsContentStore(daemon.api_url, timeout=10)
        cid = store.put(b"stored before the stop")
        assert store.get(cid) == b"stored before the stop"
        daemon.stop()
        for op in (
            lambda: store.get(cid),
            lambda: store.has(cid),
            lambda: store.pin(cid),
            lambda: store.put(b"after the stop"),
        ):
            with pytest.raises(ContentStoreUnavailable, match="unavailable"):
                op()
    finally:
        daemon.stop()
        daemon.remove()
