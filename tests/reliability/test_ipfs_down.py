"""Fault: the IPFS daemon is down (issue #7).

The real issuer API process stores its shares on a real js-ipfs daemon (``CERTLEDGER_IPFS_API``).
The daemon is stopped: issuing and anchoring carry on, the share links are given out, and the
encrypted shares wait in the retry queue (retried with exponential backoff, capped). The daemon
comes back on its address: the issuer's content-retry thread stores every share, each is pinned
on the node (checked with the node's own ``pin/ls``) and decrypts to its bundle, and nothing is
lost or stored twice.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import httpx

from ledger.content.links import parse_share_link
from ledger.content.share import decrypt_share
from ledger.storage.db import init_database
from ledger.storage.tables import CONTENT
from tests.integration.ipfs_daemon import IpfsDaemon
from tests.reliability.issuer_process import (
    IssuerProcess,
    chain_down,
    issue_degrees,
    make_home,
    onboard,
    wait_anchored,
)


class RestartableIpfs(IpfsDaemon):
    """Started again on the API port it had, as a node comes back at its configured address."""

    def _configure(self) -> None:
        port = self.api_port
        super()._configure()
        if port is not None:
            path = self.repo / "config"
            config = json.loads(path.read_text())
            config["Addresses"]["API"] = f"/ip4/127.0.0.1/tcp/{port}"
            path.write_text(json.dumps(config, indent=2))
            self.api_port = port

    def rpc(self, command: str, **args) -> bytes:
        """A plain RPC call (not through the client under test)."""
        query = "&".join(f"{k}={v}" for k, v in args.items())
        request = urllib.request.Request(f"{self.api_url}/api/v0/{command}?{query}", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()

    def pinned(self, cid: str) -> bool:
        try:
            reply = json.loads(self.rpc("pin/ls", arg=cid, type="recursive", **{"cid-base": "base32"}))
        except urllib.error.HTTPError:  # "not pinned"
            return False
        return cid in reply.get("Keys", {})


def content_rows(database_url: str) -> dict:
    engine = init_database(database_url)
    try:
        with engine.connect() as conn:
            return {r.credential_id: r for r in conn.execute(CONTENT.select())}
    finally:
        engine.dispose()


def wait_rows(what: str, database_url: str, done, issuer: IssuerProcess, timeout: float = 60) -> dict:
    """The content rows once ``done(rows)`` holds."""
    deadline = time.monotonic() + timeout
    while not done(rows := content_rows(database_url)):
        assert time.monotonic() < deadline, (
            f"{what} within {timeout} s: {[(r.stored, r.attempts) for r in rows.values()]}\n{issuer.output()[-3000:]}"
        )
        time.sleep(0.5)
    return rows


def test_issuance_carries_on_while_ipfs_is_down_and_every_share_is_pinned_when_it_returns(tmp_path):
    daemon = RestartableIpfs(tmp_path / "ipfs" / "repo")
    home = make_home(tmp_path)
    database_url = f"sqlite:///{tmp_path / 'issuer.db'}"
    issuer = IssuerProcess(
        home,
        database_url,
        tmp_path / "logs",
        env={"CERTLEDGER_BATCH_MAX_AGE_S": "1", "CERTLEDGER_CONTENT_RETRY_MAX_S": "2"},
    )
    try:
        daemon.start()
        issuer.env["CERTLEDGER_IPFS_API"] = daemon.api_url
        issuer.start()
        issuer.wait_ready()
        auth = {"Authorization": f"Bearer {onboard(issuer)}"}
        with httpx.Client(base_url=issuer.url, headers=auth, timeout=60) as client:
            # With the node up, shares go straight to it.
            before = issue_degrees(client, 0, 2)
            wait_anchored(client, 90)
            wait_rows(
                "shares stored while IPFS is up",
                database_url,
                lambda rows: len(rows) == 2 and all(r.stored for r in rows.values()),
                issuer,
            )

            daemon.stop()
            during = issue_degrees(client, 2, 6)
            wait_anchored(client, 90)  # anchoring is not held up
            rows = wait_rows("bundles delivered while IPFS is down", database_url, lambda rows: len(rows) == 8, issuer)
            assert not any(rows[i].stored for i in during)
            assert all(rows[i].pending_blob for i in during)
            links = {i: client.get(f"/credentials/{i}/share").json()["link"] for i in before + during}
            # The retry thread tries again, and the delay grows (2 s, then 4 s … capped at 2 s here).
            wait_rows(
                "a second failed attempt", database_url, lambda rows: all(rows[i].attempts >= 2 for i in during), issuer
            )
            output = issuer.output()
            assert "unavailable" in output and "retrying later" in output

            daemon.start()  # back on the same address
            rows = wait_rows(
                "every share stored after IPFS returned",
                database_url,
                lambda rows: all(r.stored for r in rows.values()),
                issuer,
            )
            assert len(rows) == 8 and len({r.cid for r in rows.values()}) == 8  # one share each, none lost
            assert all(r.pending_blob is None for r in rows.values())
            for credential_id in before + during:
                assert client.get(f"/credentials/{credential_id}/share").json()["link"] == links[credential_id]
                link = parse_share_link(links[credential_id])
                assert link.cid == rows[credential_id].cid
                assert daemon.pinned(link.cid), f"{link.cid} is not pinned on the node"
                blob = daemon.rpc("cat", arg=link.cid)
                bundle = client.get(f"/credentials/{credential_id}/bundle").content
                assert json.loads(decrypt_share(blob, link.key)) == json.loads(bundle)
        assert "Traceback" not in issuer.output()
    finally:
        issuer.stop()
        daemon.stop()
        daemon.remove()
        chain_down(home)
