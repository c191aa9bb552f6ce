"""Single issuance over HTTP at a fixed arrival rate, on loopback, with the anchorer running.

Run: .venv/bin/python bench/bench_issue_http.py [--rate 200] [--seconds 30] [--workers 2]
     [--commit-durability power-loss|process-crash]
Target (issue "Issuer service and CLI"): p99 <= 50 ms at 200 requests/s.

What it does: a fresh data directory on the embedded defaults (`certledger init`, `chain up`,
`deploy`), a governance API key, `certledger serve issuer --workers N` as a real process (its
anchoring process, beside the workers, closes batches by age while the load runs), one agency
onboarded through POST /agencies, then an OPEN-loop load: request i is due at start + i/rate whatever the earlier ones are doing, and
its latency is measured from when it was due (so a stalled server is not hidden by a client that
waits: no coordinated omission). Meanwhile it times small fsyncs on the same disk (FsyncProbe), since
every commit waits for one. Every request is a distinct credential (its own Idempotency-Key)
and must answer 201. After the load it waits until every credential is anchored and checks the
count. Loopback only; everything it started is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from bench_verifier_service import CpuWatch, free_port  # noqa: E402

CLI = [sys.executable, "-m", "certledger"]  # the command line, whatever PATH holds

RESULTS = ROOT / "bench" / "results"
SLOW_S = 0.05  # the target's p99


def cli(home: Path, *args: str) -> None:
    from certledger.cli import main as cli_main

    if cli_main(["--data-dir", str(home), *args]) != 0:
        raise RuntimeError(f"certledger {' '.join(args)} failed")


def wait_ready(client: httpx.Client, server: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the issuer service exited")
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the issuer service did not become ready")


def subject(i: int) -> dict:
    return {
        "name": f"学生{i:06d}",
        "degree": "学士 Bachelor of Engineering",
        "major": "软件工程 Software Engineering",
        "institution": "基准大学 Benchmark University",
        "graduationDate": "2025-06-30",
        "certificateNumber": f"BU-HTTP-{i:07d}",
    }


class RawPool:
    """Keep-alive HTTP/1.1 connections on loopback, written and parsed by hand: at a few hundred
    requests/s a general-purpose async client costs the shared 2 cores more than the server does
    (and its pool degrades when requests queue), which would distort the server's figure."""

    IDLE_S = 2.0  # below uvicorn's keep-alive timeout (5 s): never write to a connection it is closing

    def __init__(self, port: int, size: int = 256):
        self.port, self.size, self.opened = port, size, 0
        self.idle: asyncio.LifoQueue = asyncio.LifoQueue()

    async def _connection(self):
        while not self.idle.empty():
            reader, writer, since = self.idle.get_nowait()
            if time.monotonic() - since < self.IDLE_S:
                return reader, writer
            writer.close()
            self.opened -= 1
        if self.opened < self.size:
            self.opened += 1
            return await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer, _ = await self.idle.get()
        return reader, writer

    async def post(self, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
        reader, writer = await self._connection()
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{head}"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
            lines = raw.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
            data = await reader.readexactly(int(fields["content-length"]))
        except Exception:
            writer.close()
            self.opened -= 1
            raise
        self.idle.put_nowait((reader, writer, time.monotonic()))
        return status, data

    def close(self) -> None:
        while not self.idle.empty():
            self.idle.get_nowait()[1].close()


async def open_loop(port: int, auth: dict, rate: float, seconds: float, first: int) -> dict:
    n = int(rate * seconds)
    latencies: list[float] = []
    slow: list[tuple[float, float]] = []  # (wall-clock time due, seconds) of requests over SLOW_S
    failures: list[str] = []
    pool = RawPool(port)
    wall_offset = time.time() - time.perf_counter()

    async def one(i: int, due: float) -> None:
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        body = json.dumps({"type": "DegreeCertificate", "subject": subject(first + i)}, ensure_ascii=False).encode()
        try:
            status, data = await pool.post("/credentials", body, {**auth, "Idempotency-Key": str(uuid.uuid4())})
            if status != 201:
                failures.append(f"{status} {data[:200]!r}")
        except (OSError, asyncio.IncompleteReadError, ValueError, KeyError) as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
        latencies.append(time.perf_counter() - due)
        if latencies[-1] > SLOW_S:
            slow.append((due + wall_offset, latencies[-1]))

    # The generator's own garbage collections (thousands of pending coroutines) would pause its loop
    # and show up as server latency: the load runs with the collector off (its memory is bounded).
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        start = time.perf_counter() + 0.2
        await asyncio.gather(*(one(i, start + i / rate) for i in range(n)))
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
        gc.unfreeze()
    pool.close()
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {
        "requests": n,
        "offered_per_s": rate,
        "achieved_per_s": round(n / elapsed, 1),
        "p50_ms": round(pick(0.50), 2),
        "p90_ms": round(pick(0.90), 2),
        "p99_ms": round(pick(0.99), 2),
        "max_ms": round(latencies[-1] * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
        "connections": pool.opened,
        "failures": len(failures),
        "first_failures": failures[:5],
        "slow_seconds": slow_seconds(slow),
    }


def slow_seconds(slow: list[tuple[float, float]], top: int = 5) -> list[str]:
    """The wall-clock seconds with the most requests over SLOW_S ("HH:MM:SS count max_ms"): whether a
    tail is one event or spread out, to set beside the fsync probe's stalls and the service's log."""
    seconds: dict[int, list[float]] = {}
    for due, latency in slow:
        seconds.setdefault(int(due), []).append(latency)
    worst = sorted(seconds.items(), key=lambda item: -len(item[1]))[:top]
    return [
        f"{time.strftime('%H:%M:%S', time.localtime(second))} {len(ls)} {max(ls) * 1000:.0f}" for second, ls in worst
    ]


class FsyncProbe:
    """Latency of a small write + fsync on the data directory's disk, 20 times a second, while the load
    runs: by default every credential's commit waits for one (the WAL synced after COMMIT), so a slow
    percentile can be told apart from a disk that stalled (seen on this VM: single fsyncs of 0.1-0.4 s,
    idle)."""

    def __init__(self, directory: Path, interval_s: float = 0.05):
        self.path, self.interval_s = directory / "fsync-probe.bin", interval_s
        self.samples: list[float] = []
        self.stalls: list[str] = []  # "HH:MM:SS ms" of fsyncs over 20 ms
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            block = os.urandom(4096)
            while not self._stop.wait(self.interval_s):
                os.pwrite(fd, block, 0)
                started = time.perf_counter()
                os.fsync(fd)
                self.samples.append((time.perf_counter() - started) * 1000)
                if self.samples[-1] > 20:
                    self.stalls.append(f"{time.strftime('%H:%M:%S')} {self.samples[-1]:.0f}")
        finally:
            os.close(fd)
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> FsyncProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict:
        ordered = sorted(self.samples) or [0.0]
        return {
            "samples": len(self.samples),
            "p50_ms": round(ordered[len(ordered) // 2], 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2),
            "max_ms": round(ordered[-1], 1),
            "over_20ms": sum(1 for x in ordered if x > 20),
            "stalls": self.stalls[:10],
        }


def count_anchored(client: httpx.Client, auth: dict) -> int:
    count, cursor = 0, None
    while True:
        params = {"state": "anchored", "limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = client.get("/credentials", params=params, headers=auth).json()
        count += len(page["items"])
        cursor = page.get("nextCursor")
        if not cursor:
            return count


def run(
    rate: float = 200, seconds: float = 30, workers: int = 2, warmup_s: float = 5, durability: str = "power-loss"
) -> dict:
    from certledger.cli.context import App
    from ledger.governance.api_keys import create_api_key

    with tempfile.TemporaryDirectory() as tmp_name:
        home = Path(tmp_name) / "home"
        for args in (["init", "--port", "0"], ["chain", "up"], ["deploy"]):
            cli(home, *args)
        server = None
        try:
            _, governance = create_api_key(App(home).engine, None, ["governance"], "bench")
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            RESULTS.mkdir(exist_ok=True)
            log = RESULTS / "issuer-http.log"  # kept: the anchorer's lines show what each stall was
            server = subprocess.Popen(
                [
                    *CLI,
                    "--data-dir",
                    str(home),
                    "serve",
                    "issuer",
                    "--port",
                    str(port),
                    "--workers",
                    str(workers),
                ],
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env={**os.environ, "CERTLEDGER_RUN_ANCHORER": "1", "CERTLEDGER_COMMIT_DURABILITY": durability},
            )
            with httpx.Client(base_url=url, timeout=60) as client:
                wait_ready(client, server)
                agency = client.post(
                    "/agencies",
                    json={"code": "bench-university", "name": "基准大学", "types": ["DegreeCertificate"]},
                    headers={"Authorization": f"Bearer {governance}"},
                )
                if agency.status_code != 201:
                    raise RuntimeError(f"onboarding failed: {agency.status_code} {agency.text[:300]}")
                auth = {"Authorization": f"Bearer {agency.json()['apiKey']}"}
            warm = asyncio.run(open_loop(port, auth, rate, warmup_s, first=0))
            with CpuWatch(server.pid, os.getpid()) as cpu, FsyncProbe(home) as disk:
                load = asyncio.run(open_loop(port, auth, rate, seconds, first=warm["requests"]))
            issued = warm["requests"] + load["requests"] - warm["failures"] - load["failures"]
            with httpx.Client(base_url=url, timeout=60) as client:
                deadline = time.monotonic() + 120
                while True:
                    work = client.get("/healthz").json()
                    if work["pending_credentials"] == 0 and not any(work["batches"].values()):
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"credentials still waiting for anchoring: {work}")
                    time.sleep(0.5)
                anchored = count_anchored(client, auth)
        finally:
            if server is not None:
                server.terminate()
                try:
                    server.wait(30)
                except subprocess.TimeoutExpired:
                    server.kill()
            cli(home, "chain", "down")
    return {
        "workers": workers,
        "commit_durability": durability,
        "warmup": {k: warm[k] for k in ("requests", "p99_ms", "failures")},
        **load,
        "issued": issued,
        "anchored": anchored,
        "disk_fsync": disk.summary(),
        "cpu": {
            "service_cores": round(cpu.service / cpu.seconds, 2),
            "client_cores": round(cpu.bench / cpu.seconds, 2),
            "other_cores": round(cpu.others_cores, 2),
            "stolen_cores": round(cpu.steal_cores, 3),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200, help="requests per second (open loop)")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (anchoring runs beside them)")
    parser.add_argument(
        "--commit-durability",
        choices=("power-loss", "process-crash"),
        default="power-loss",
        help="when the workers' commits count (ledger.storage.request_path)",
    )
    args = parser.parse_args()
    result = run(args.rate, min(args.seconds, 300), args.workers, durability=args.commit_durability)
    print(
        f"POST /credentials at {result['offered_per_s']:.0f}/s offered ({result['achieved_per_s']}/s achieved) for "
        f"{args.seconds:.0f} s, {result['workers']} worker(s), commits durable against {args.commit_durability}: p50 {result['p50_ms']} ms, p90 {result['p90_ms']} ms, "
        f"p99 {result['p99_ms']} ms, max {result['max_ms']} ms, failures {result['failures']}; "
        f"anchored afterwards: {result['anchored']} of {result['issued']}; cpu {result['cpu']}; "
        f"disk fsync meanwhile: p99 {result['disk_fsync']['p99_ms']} ms, max {result['disk_fsync']['max_ms']} ms; "
        f"seconds with most requests over {SLOW_S * 1000:.0f} ms: {', '.join(result['slow_seconds']) or 'none'}; "
        f"fsync stalls: {', '.join(result['disk_fsync']['stalls']) or 'none'}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
