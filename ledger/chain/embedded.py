"""The embedded chain: anvil (from node_modules) on loopback, its state persisted in the data directory.

State is dumped every `state_interval` seconds and on exit, so a crash loses at most that much.
The PID and port are recorded in `chain/anvil.json`; a second `up` is refused while the first runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ledger.chain.errors import ChainError
from ledger.chain.jsonrpc import JsonRpc

EMBEDDED_CHAIN_ID = 31337


class EmbeddedChainError(Exception):
    pass


@dataclass(frozen=True)
class ChainProcess:
    pid: int
    host: str
    port: int
    chain_id: int
    state_file: str
    started_at: float

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass(frozen=True)
class ChainStatus:
    state: str  # "running", "stopped", "stale" (recorded but dead), "unresponsive" (alive, no RPC)
    process: ChainProcess | None
    block_number: int | None = None
    detail: str = ""

    @property
    def recorded(self) -> ChainProcess:
        """The process of a chain that is running (or unresponsive): those states have one."""
        if self.process is None:
            raise EmbeddedChainError(f"the embedded chain is {self.state}: no process recorded")
        return self.process


def find_anvil(anvil: Path | None = None) -> str:
    """anvil: the one named (the process's CERTLEDGER_ANVIL), else the project's node_modules', else PATH's."""
    candidates = [str(anvil) if anvil else None]
    for base in (Path(__file__).resolve().parent.parent, Path.cwd()):
        candidates.append(str(base / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"))
    candidates.append(shutil.which("anvil"))
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise EmbeddedChainError(
        "anvil not found: run `make setup` (or `npm ci`) in the project folder, or set CERTLEDGER_ANVIL"
    )


class EmbeddedChain:
    def __init__(
        self,
        chain_dir: Path,
        host: str = "127.0.0.1",
        port: int = 8545,
        state_interval: int = 1,
        chain_id: int = EMBEDDED_CHAIN_ID,
        anvil: Path | None = None,  # the anvil binary (find_anvil)
    ):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise EmbeddedChainError(f"the embedded chain listens on loopback only, not {host}")
        self.dir = Path(chain_dir)
        self.host, self.port, self.state_interval, self.chain_id = host, port, state_interval, chain_id
        self.anvil = anvil
        self.record_file = self.dir / "anvil.json"
        self.state_file = self.dir / "state.json"
        self.log_file = self.dir / "anvil.log"

    def up(self, timeout_s: float = 20.0) -> ChainProcess:
        current = self.status()
        if current.state in ("running", "unresponsive"):
            raise EmbeddedChainError(
                f"the embedded chain is already running (pid {current.recorded.pid}, {current.recorded.rpc_url})"
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        port = self.port or _free_port(self.host)
        if _port_in_use(self.host, port):
            raise EmbeddedChainError(
                f"port {port} on {self.host} is in use by another program; set chain.port in the configuration"
            )
        args = [
            find_anvil(self.anvil),
            "--host",
            self.host,
            "--port",
            str(port),
            "--chain-id",
            str(self.chain_id),
            "--state",
            str(self.state_file),
            "--state-interval",
            str(self.state_interval),
            "--preserve-historical-states",
        ]
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )  # survives the CLI that started it
        record = ChainProcess(proc.pid, self.host, port, self.chain_id, str(self.state_file), time.time())
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise EmbeddedChainError(f"anvil exited with code {proc.returncode}; see {self.log_file}")
            if _block_number(record.rpc_url) is not None:
                self.record_file.write_text(json.dumps(record.__dict__, indent=2) + "\n")
                return record
            time.sleep(0.1)
        proc.kill()
        raise EmbeddedChainError(f"anvil did not answer within {timeout_s:.0f} s; see {self.log_file}")

    def down(self, timeout_s: float = 15.0) -> bool:
        """Stop the chain (its state is dumped on exit). Returns False if it was not running."""
        record = self._record()
        if record is None:
            return False
        stopped = False
        if _alive(record.pid):
            os.kill(record.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout_s
            while _alive(record.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(record.pid):
                os.kill(record.pid, signal.SIGKILL)
            stopped = True
        self.record_file.unlink(missing_ok=True)
        return stopped

    def status(self) -> ChainStatus:
        record = self._record()
        if record is None:
            return ChainStatus("stopped", None)
        if not _alive(record.pid):
            return ChainStatus(
                "stale", record, detail=f"pid {record.pid} is gone (crashed or killed); `chain up` restarts it"
            )
        block = _block_number(record.rpc_url)
        if block is None:
            return ChainStatus(
                "unresponsive", record, detail=f"pid {record.pid} runs but {record.rpc_url} does not answer"
            )
        return ChainStatus("running", record, block)

    def _record(self) -> ChainProcess | None:
        try:
            return ChainProcess(**json.loads(self.record_file.read_text()))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as exc:
            raise EmbeddedChainError(f"{self.record_file} is corrupt ({exc}); remove it if no anvil runs") from exc


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (our own exited child) is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def _block_number(url: str) -> int | None:
    try:
        return int(JsonRpc(url, timeout_s=2).call("eth_blockNumber", []), 16)
    except (ChainError, TypeError, ValueError):
        return None


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def rpc_urls_for(settings, *, allow_down: bool = False) -> list[str]:
    """The JSON-RPC URLs a configuration uses: the external nodes, or the running embedded chain.

    ``allow_down``: a stopped embedded chain with a configured port yields the URL it will answer on
    once `certledger chain up` starts it (the issuer then starts with anchoring paused, as with an
    external node that does not answer) instead of an error."""
    c = settings.chain
    if not c.embedded:
        return list(c.rpc_urls)
    status = EmbeddedChain(settings.chain_dir, c.host, c.port, c.state_interval, c.chain_id).status()
    if status.state != "running":
        if allow_down and c.port:
            return [f"http://{c.host}:{c.port}"]
        raise EmbeddedChainError("the embedded chain is not running: `certledger chain up` starts it")
    return [status.recorded.rpc_url]
