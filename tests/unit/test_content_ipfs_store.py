"""ledger.content.ipfs_store without a node: addresses, an unreachable node, no warnings.
(The real node: tests/integration/test_ipfs_store.py.)"""

from __future__ import annotations

import socket
import warnings

import pytest

from ledger.content.cid import CIDError
from ledger.content.ipfs_store import IpfsContentStore, api_multiaddr
from ledger.content.store import ContentStore, ContentStoreUnavailable

CID = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"


@pytest.mark.parametrize(
    "api,expected",
    [
        ("/ip4/127.0.0.1/tcp/5001/http", "/ip4/127.0.0.1/tcp/5001/http"),
        ("http://127.0.0.1:5002", "/ip4/127.0.0.1/tcp/5002/http"),
        ("http://127.0.0.1:5002/", "/ip4/127.0.0.1/tcp/5002/http"),
        ("https://ipfs.example.gov.cn", "/dns/ipfs.example.gov.cn/tcp/443/https"),
        ("http://[::1]:5001", "/ip6/::1/tcp/5001/http"),
    ],
)
def test_api_address_forms(api, expected):
    assert api_multiaddr(api) == expected


@pytest.mark.parametrize("api", ["ftp://127.0.0.1:5001", "127.0.0.1:5001", "http://127.0.0.1:5001/api/v0"])
def test_bad_api_address(api):
    with pytest.raises(ValueError):
        api_multiaddr(api)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when this returns


def test_unreachable_node_is_unavailable_and_quiet():
    store = IpfsContentStore(f"http://127.0.0.1:{closed_port()}", timeout=5)
    assert isinstance(store, ContentStore)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for op in (
            lambda: store.put(b"x"),
            lambda: store.get(CID),
            lambda: store.has(CID),
            lambda: store.pin(CID),
            store.version,
        ):
            with pytest.raises(ContentStoreUnavailable, match="unavailable.*Connection refused"):
                op()
    assert [str(w.message) for w in caught] == []


def test_malformed_cid_is_refused_before_any_request():
    store = IpfsContentStore(f"http://127.0.0.1:{closed_port()}")
    for op in (store.get, store.has, store.pin):
        with pytest.raises(CIDError):
            op("QmRaaUwTNfwgFZpeUy8qrZwrp2dY4kCKmmB5xEqvH3vtD1")
