"""The transparency pages and API on a large ledger: server time per call and page weight.

Run: .venv/bin/python bench/bench_transparency.py [--batches 10000] [--per-batch 100] [--changes 10000]
     [--agencies 20] [--days 100] [--requests 20]
Target (issue 23): every page and API call <= 200 ms of server time with 1,000,000 anchored
credentials in 10,000 batches, 10,000 status changes and 20 agencies; page weight <= 200 KB.

How the state is built — on anvil, by transactions against the contracts (not by writing index
rows), so that the indexer, its block timestamps and the visibility rule are the real ones:
  * its own anvil (loopback, free port) whose genesis is ``--days`` + 2 days in the past;
  * contracts deployed, ``--agencies`` agencies registered, each with an operator, a permitted type
    and a signing key; every fourth agency also gets a second key, revoked as of a day before the
    revocation is recorded (a compromised key);
  * mining switched to manual; for each of ``--days`` days one block at that day's time holds that
    day's anchors (each a real Merkle root of ``--per-batch`` random digests, ``anchor(root, count)``
    signed locally and sent as raw transactions), and the next block holds the status changes of the
    previous day's batches (``revokeMany``/``suspendMany`` per agency, one digest per batch with its
    real Merkle proof, reasons 0-6 in turn);
  * the verifier's indexer indexes the chain into a temporary SQLite file (timed), then the service
    runs under uvicorn (one worker) and each page and API call is timed from a loopback client
    (``--requests`` times after one warm-up; the figure includes HTTP on loopback, so it is an upper
    bound of server time).
Everything started is stopped at the end; loops are bounded.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import requests  # noqa: E402
from eth_abi import encode  # noqa: E402
from eth_account import Account  # noqa: E402
from web3 import Web3  # noqa: E402

from ledger.chain import RegistryClient, connect, deploy_contracts, make_sender  # noqa: E402
from ledger.chain.embedded import find_anvil  # noqa: E402
from ledger.governance.accounts import fund_on_anvil  # noqa: E402
from ledger.protocol.deployment import Deployment  # noqa: E402
from ledger.protocol.identifiers import agency_id, type_id  # noqa: E402
from ledger.protocol.keys import SigningKey  # noqa: E402
from ledger.protocol.merkle import MerkleTree  # noqa: E402
from verifier.index_db import make_index_engine  # noqa: E402
from verifier.indexer import Indexer, deployment_key  # noqa: E402
from verifier.settings import VerifierSettings  # noqa: E402
from verifier.transparency import Transparency  # noqa: E402

DAY = 86_400
CHAIN_ID = 31337
PAGE_WEIGHT_LIMIT = 200 * 1024
TARGET_MS = 200.0


def selector(signature: str) -> bytes:
    return bytes(Web3.keccak(text=signature)[:4])


ANCHOR = selector("anchor(bytes32,uint32)")
CHANGE = {
    "revoke": selector("revokeMany(bytes32[],bytes32[],bytes32[][],uint8)"),
    "suspend": selector("suspendMany(bytes32[],bytes32[],bytes32[][],uint8)"),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Rpc:
    def __init__(self, url: str):
        self.url, self.session = url, requests.Session()

    def call(self, method: str, *params):
        reply = self.session.post(
            self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=120
        ).json()
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def send_raw(self, raws: list[bytes]) -> None:
        """Many raw transactions in one JSON-RPC batch."""
        for start in range(0, len(raws), 500):
            body = [
                {"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": ["0x" + raw.hex()]}
                for i, raw in enumerate(raws[start : start + 500])
            ]
            for reply in self.session.post(self.url, json=body, timeout=300).json():
                if "error" in reply:
                    raise RuntimeError(f"eth_sendRawTransaction: {reply['error']}")


class Operator:
    """An agency's operator signing its own transactions, nonce counted here."""

    def __init__(self, account, nonce: int, ledger: str, gas_price: int):
        self.account, self.nonce, self.ledger, self.gas_price = account, nonce, ledger, gas_price

    def tx(self, data: bytes, gas: int) -> bytes:
        signed = Account.sign_transaction(
            {
                "nonce": self.nonce,
                "to": self.ledger,
                "data": data,
                "gas": gas,
                "gasPrice": self.gas_price,
                "chainId": CHAIN_ID,
                "value": 0,
            },
            self.account.key,
        )
        self.nonce += 1
        return bytes(signed.raw_transaction)


def build_state(args, rpc: Rpc, url: str, genesis: int) -> tuple[Deployment, dict]:
    t0 = time.perf_counter()
    w3 = connect(url, CHAIN_ID)
    governance = Account.create()
    fund_on_anvil(url, governance.address)
    deployment = deploy_contracts(make_sender(w3, governance))
    registry = RegistryClient(w3, deployment.registry, make_sender(w3, governance))
    operators = []
    codes = [f"bench-agency-{i:02d}" for i in range(args.agencies)]
    types = ("DegreeCertificate", "ResidenceCertificate", "NoCriminalRecordCertificate")
    compromised = 0
    for i, code in enumerate(codes):
        operator = Account.create()
        fund_on_anvil(url, operator.address)
        registry.register_agency(code, f"基准机构 {i:02d} Benchmark Agency {i:02d}")
        registry.add_operator(agency_id(code), operator.address)
        registry.add_key(agency_id(code), SigningKey.generate().public_key.raw, 0)
        registry.set_type_permitted(agency_id(code), type_id(types[i % len(types)]), True)
        if i % 4 == 0:
            now = w3.eth.get_block("latest")["timestamp"]
            leaked = SigningKey.generate().public_key.raw
            registry.add_key(agency_id(code), leaked, now - DAY)
            registry.revoke_key(agency_id(code), leaked, now - DAY // 2)
            compromised += 1
        operators.append(operator)
    gas_price = 2 * w3.eth.gas_price + 10**9
    ops = [Operator(a, w3.eth.get_transaction_count(a.address), deployment.ledger, gas_price) for a in operators]
    setup_s = time.perf_counter() - t0

    rpc.call("evm_setAutomine", False)
    per_day = -(-args.batches // args.days)
    changes_per_batch = max(1, -(-args.changes // args.batches))
    pending: list[tuple[int, bytes, bytes, list[bytes]]] = []  # (agency, root, digest, proof) of the day before
    anchored = changed = 0
    start = genesis + DAY  # the first day after genesis
    t1 = time.perf_counter()
    by_reason: dict[tuple[str, int], int] = {}
    batch_no = 0
    for day in range(args.days + 1):
        # the previous day's status changes: one block at the start of this day
        if pending:
            raws = []
            grouped: dict[int, list] = {}
            for agency, root, digest, proof in pending:
                grouped.setdefault(agency, []).append((root, digest, proof))
            for agency, items in grouped.items():
                action = "revoke" if (day + agency) % 3 else "suspend"
                reason = (day + agency) % 7
                digests = [d for _, d, _ in items]
                roots = [r for r, _, _ in items]
                proofs = [p for _, _, p in items]
                data = CHANGE[action] + encode(
                    ["bytes32[]", "bytes32[]", "bytes32[][]", "uint8"], [digests, roots, proofs, reason]
                )
                raws.append(ops[agency].tx(data, 80_000 + 60_000 * len(items)))
                by_reason[(action, reason)] = by_reason.get((action, reason), 0) + len(items)
                changed += len(items)
            rpc.send_raw(raws)
            rpc.call("evm_mine", start + day * DAY)
            pending = []
        if day == args.days or batch_no >= args.batches:
            if not pending:
                break
            continue
        raws = []
        for _ in range(min(per_day, args.batches - batch_no)):
            agency = batch_no % args.agencies
            digests = [os.urandom(32) for _ in range(args.per_batch)]
            tree = MerkleTree.build(digests)
            raws.append(ops[agency].tx(ANCHOR + encode(["bytes32", "uint32"], [tree.root, args.per_batch]), 120_000))
            if changed + len(pending) < args.changes:
                for k in range(changes_per_batch):
                    pending.append((agency, tree.root, digests[k], tree.proof(k)))
            anchored += args.per_batch
            batch_no += 1
        rpc.send_raw(raws)
        rpc.call("evm_mine", start + day * DAY + DAY // 2)
    rpc.call("evm_setAutomine", True)
    chain_s = time.perf_counter() - t1
    receipts_ok = _all_succeeded(rpc)
    return deployment, {
        "codes": codes,
        "batches": batch_no,
        "credentials": anchored,
        "changes": changed,
        "compromised": compromised,
        "setup_s": setup_s,
        "chain_s": chain_s,
        "blocks": int(rpc.call("eth_blockNumber"), 16),
        "receipts_ok": receipts_ok,
        "by_reason": by_reason,
    }


def _all_succeeded(rpc: Rpc) -> bool:
    """Every transaction of the last 250 blocks succeeded (a failed anchor would shrink the figures)."""
    head = int(rpc.call("eth_blockNumber"), 16)
    for number in range(max(0, head - 250), head + 1):
        for receipt in rpc.call("eth_getBlockReceipts", hex(number)) or ():
            if int(receipt["status"], 16) != 1:
                return False
    return True


def index_chain(root: Deployment, url: str, db_url: str) -> tuple[float, int]:
    engine = make_index_engine(db_url)
    indexer = Indexer(engine, [root], {CHAIN_ID: [url]}, log_range=100_000)
    t0 = time.perf_counter()
    events = 0
    for _ in range(10_000):
        result = indexer.run(root)
        events += result.events
        if result.caught_up:
            break
    engine.dispose()
    return time.perf_counter() - t0, events


def start_service(settings: VerifierSettings, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, **settings.to_env()}
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "verifier.app:app_from_env",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def wait_ready(url: str, proc: subprocess.Popen, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=5) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("the verifier service exited")
            try:
                if client.get(url + "/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise RuntimeError("the verifier service did not become ready")


def first_byte(client: httpx.Client, path: str) -> float:
    """Milliseconds to the first chunk of a streamed answer (the rest is read and dropped)."""
    t0 = time.perf_counter()
    with client.stream("GET", path) as reply:
        chunks = reply.iter_bytes()
        next(chunks)
        took = (time.perf_counter() - t0) * 1000
        for _ in chunks:
            pass
    return took


def cpu_ms(pid: int) -> float:
    """The process's CPU time so far (user + system; /proc's clock ticks, 10 ms)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def measure(client: httpx.Client, path: str, n: int, pid: int) -> tuple[list[float], list[float], httpx.Response]:
    """Wall time of each call at the client, and the service's CPU time during it (which other
    processes on the machine do not inflate; 10 ms resolution)."""
    reply = client.get(path)  # warm-up
    assert reply.status_code == 200, (path, reply.status_code, reply.text[:300])
    times, cpu = [], []
    for _ in range(n):
        c0, t0 = cpu_ms(pid), time.perf_counter()
        reply = client.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append(cpu_ms(pid) - c0)
        assert reply.status_code == 200, (path, reply.status_code)
    return times, cpu, reply


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10_000)
    parser.add_argument("--per-batch", type=int, default=100)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--agencies", type=int, default=20)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-transparency-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    genesis = int(time.time()) - (args.days + 2) * DAY
    anvil = subprocess.Popen(
        [
            find_anvil(None),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--chain-id",
            str(CHAIN_ID),
            "--timestamp",
            str(genesis),
            "--gas-limit",
            "300000000",
            "--silent",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    service = None
    try:
        rpc = Rpc(url)
        for _ in range(100):
            try:
                rpc.call("eth_blockNumber")
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        deployment, built = build_state(args, rpc, url, genesis)
        print(
            f"chain: {built['batches']:,} batches, {built['credentials']:,} credentials, {built['changes']:,} status "
            f"changes, {args.agencies} agencies ({built['compromised']} compromised keys), {built['blocks']:,} blocks; "
            f"set-up {built['setup_s']:.1f} s, anchors and changes {built['chain_s']:.1f} s; "
            f"receipts of the last 250 blocks all succeeded: {built['receipts_ok']}"
        )
        root = Deployment.trust_root(CHAIN_ID, deployment.registry, deployment.ledger, "bench", deployment.block)
        db_url = f"sqlite:///{tmp / 'index.db'}"
        index_s, events = index_chain(root, url, db_url)
        print(f"index: {events:,} events in {index_s:.1f} s")
        loads = []
        for _ in range(3):  # what the service does at start-up, and after a reorganisation
            engine = make_index_engine(db_url)
            t0 = time.perf_counter()
            Transparency(engine, [deployment_key(root)]).totals()
            loads.append((time.perf_counter() - t0) * 1000)
            engine.dispose()
        print(
            f"summary load from scratch (start-up, after a reorganisation): {', '.join(f'{v:.0f}' for v in loads)} ms"
        )

        settings = VerifierSettings(
            trust_roots=(root,),
            rpc_urls={CHAIN_ID: (url,)},
            database_url=db_url,
            content_dir=str(tmp / "content"),
            batch_processes=1,
            rate_limit_per_s=100_000,
            rate_limit_burst=100_000,
        ).check()
        service_port = free_port()
        base = f"http://127.0.0.1:{service_port}"
        service = start_service(settings, service_port, tmp / "service.log")
        wait_ready(base, service)

        with httpx.Client(base_url=base, timeout=60) as client:
            totals = client.get("/transparency/api/ledger").json()["totals"]
            assert totals["credentials"] == built["credentials"], (totals, built)
            assert totals["batches"] == built["batches"] and totals["agencies"] == args.agencies
            assert totals["revocations"] + totals["suspensions"] == built["changes"], totals
            code = built["codes"][3]
            batches = client.get(f"/transparency/api/agencies/{code}/batches?limit=20").json()
            a_root = batches["items"][-1]["root"]
            events_page = client.get("/transparency/api/events?limit=50").json()
            digest = next(
                e["digest"]
                for e in client.get(f"/transparency/api/events?agency={code}&limit=200").json()["items"]
                if e["event"] == "StatusChanged"
            )
            older = client.get(f"/transparency/api/events?limit=50&cursor={events_page['next']}").json()
            calls = [
                ("page", "/transparency?lang=zh"),
                ("page", "/transparency?lang=en&period=week"),
                ("page", "/transparency/agencies?lang=zh"),
                ("page", f"/transparency/agencies/{code}?lang=zh"),
                ("page", f"/transparency/agencies/{code}?lang=en&period=week&cursor={batches['next']}"),
                ("page", f"/transparency/lookup?lang=zh&agency={code}&batch={a_root}"),
                ("page", f"/transparency/lookup?lang=en&agency={code}&digest={digest}"),
                ("api", "/transparency/api/agencies"),
                ("api", f"/transparency/api/agencies/{code}"),
                ("api", f"/transparency/api/agencies/{code}/anchored?period=day"),
                ("api", f"/transparency/api/agencies/{code}/anchored?period=week"),
                ("api", f"/transparency/api/agencies/{code}/status-changes"),
                ("api", f"/transparency/api/agencies/{code}/batches?limit=50"),
                ("api", f"/transparency/api/agencies/{code}/batches?limit=50&cursor={batches['next']}"),
                ("api", f"/transparency/api/agencies/{code}/batches/{a_root}"),
                ("api", f"/transparency/api/agencies/{code}/digests/{digest}"),
                ("api", "/transparency/api/ledger"),
                ("api", "/transparency/api/ledger/timeline?period=day"),
                ("api", "/transparency/api/ledger/timeline?period=week"),
                ("api", "/transparency/api/events?limit=50"),
                ("api", f"/transparency/api/events?limit=50&cursor={older['next']}"),
                ("api", f"/transparency/api/events?limit=50&after={events_page['latest']}"),
                ("api", f"/transparency/api/events?limit=50&agency={code}"),
                ("export", "/transparency/api/export.ndjson"),
                ("export", "/transparency/api/export.csv"),
            ]
            static = {
                p: len(client.get(p).content)
                for p in ("/static/style.css", "/static/transparency.css", "/static/transparency.js")
            }
            print()
            print(f"{'kind':6} {'call':80} {'p50 ms':>7} {'max ms':>7} {'CPU ms':>7} {'CPU max':>7} {'KB':>6}  ok")
            worst = 0.0
            heaviest = 0
            for kind, path in calls:
                times, cpu, reply = measure(client, path, 1 if kind == "export" else args.requests, service.pid)
                p50, top = statistics.median(times), max(times)
                weight = ""
                ok = top <= TARGET_MS
                if kind == "page":
                    total = len(reply.content) + static["/static/style.css"] + static["/static/transparency.css"]
                    if "transparency.js" in reply.text:
                        total += static["/static/transparency.js"]
                    heaviest = max(heaviest, total)
                    weight = f"{total / 1024:.1f}"
                    ok = ok and total <= PAGE_WEIGHT_LIMIT
                elif kind == "export":
                    weight = f"{len(reply.content) / 1024:.0f}"
                    ttfb = first_byte(client, path)
                    ok = ttfb <= TARGET_MS
                    path = f"{path} (first byte {ttfb:.0f} ms)"
                if kind != "export":
                    worst = max(worst, top)
                print(
                    f"{kind:6} {path[:80]:80} {p50:7.1f} {top:7.1f} {statistics.mean(cpu):7.1f} {max(cpu):7.0f} "
                    f"{weight:>6}  {'yes' if ok else 'NO'}"
                )
            print()
            print(
                f"worst page/API call {worst:.1f} ms (target {TARGET_MS:.0f} ms); heaviest page {heaviest / 1024:.1f} KB "
                f"(target {PAGE_WEIGHT_LIMIT // 1024} KB); exports stream the whole log (not paged): their time is the whole download, ok is the first byte"
            )
        return 0
    finally:
        if service is not None:
            service.terminate()
            service.wait(15)
        anvil.terminate()
        anvil.wait(15)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
