"""Run `certledger` in a fresh process and report which heavy modules it loaded (start-up time, issue 21).

Asserting on ``sys.modules`` rather than on time: a slow machine cannot make it flaky, and a heavy
import that creeps back names itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What `--help` and `verify` must not load: each costs from a tenth of a second to seconds to import.
HEAVY = (
    "web3",
    "eth_account",
    "eth_abi",
    "eth_utils",
    "py_ecc",
    "sqlalchemy",
    "sqlmodel",
    "ledger.issuance",
    "ledger.storage",
)

_WRAPPER = """
import json, sys
from certledger.cli import main
code = main(sys.argv[1:])
print("\\n" + json.dumps({"exit": code, "modules": sorted(sys.modules)}))
"""


def run_cli(*args: str, timeout_s: float = 60) -> tuple[int, str, list[str]]:
    """(exit status, what the command printed, the heavy modules it loaded)."""
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout_s
    )
    assert done.returncode == 0, done.stderr[-3000:]
    output, _, last = done.stdout.rstrip("\n").rpartition("\n")
    result = json.loads(last)
    loaded = [m for m in HEAVY if m in result["modules"]]
    return result["exit"], output, loaded
