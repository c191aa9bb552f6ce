"""The command line where a person waits: `certledger --help` and `certledger verify BUNDLE`, whole process.

Run: .venv/bin/python bench/bench_cli_startup.py [--runs 5]
Targets (issue 21): `--help` <= 0.3 s; `verify` of one bundle against the embedded chain <= 0.6 s.
In a fresh data directory (``init``, ``chain up``, ``deploy``, ``agency register``, ``issue`` one
credential; none of it timed) each command runs `runs` times in a process of its own, timed from
outside (fork, interpreter start-up, imports, the chain reads, the output), after one untimed run.
Python's bytecode cache is on, as for an installed command; the same is measured again with it off
(PYTHONDONTWRITEBYTECODE=1, every module of the project compiled from source at each start). The
data directory is removed and its chain stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [str(Path(sys.executable).parent / "certledger")]
AGENCY = "bench-university"
SUBJECT = {
    "name": "张三",
    "degree": "学士",
    "major": "数学",
    "institution": "浙江大学",
    "graduationDate": "2024-06-30",
}


def _certledger(home: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [*CLI, "--data-dir", str(home), *args], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"certledger {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done


def _times(args: list[str], runs: int, env: dict) -> list[float]:
    out = []
    for i in range(runs + 1):  # the first run is not counted: it writes the bytecode cache when that is on
        t0 = time.perf_counter()
        done = subprocess.run(args, cwd=ROOT, capture_output=True, env=env)
        seconds = time.perf_counter() - t0
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr.decode()[-3000:]}")
        if i:
            out.append(seconds)
    return out


def _summary(times: list[float]) -> dict:
    return {"min_s": round(min(times), 3), "median_s": round(statistics.median(times), 3), "runs_s": times}


def run(runs: int = 5) -> dict:
    cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    uncached = {**cached, "PYTHONDONTWRITEBYTECODE": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        home, subject, bundle = Path(tmp) / "home", Path(tmp) / "subject.json", Path(tmp) / "bundle.json"
        subject.write_text(json.dumps(SUBJECT, ensure_ascii=False), "utf-8")
        _certledger(home, "init", "--port", "0")
        try:
            for args in (
                ["chain", "up"],
                ["deploy"],
                ["agency", "register", AGENCY, "--name", "Bench University", "--types", "DegreeCertificate"],
                ["issue", "--type", "DegreeCertificate", "--subject", str(subject), "--out", str(bundle)],
            ):
                _certledger(home, *args)
            help_args, verify_args = [*CLI, "--help"], [*CLI, "--data-dir", str(home), "verify", str(bundle)]
            load = os.getloadavg()[0]
            figures = {
                "runs": runs,
                "load_before": load,
                "help": _summary(_times(help_args, runs, cached)),
                "verify": _summary(_times(verify_args, runs, cached)),
                "help_no_bytecode_cache": _summary(_times(help_args, runs, uncached)),
                "verify_no_bytecode_cache": _summary(_times(verify_args, runs, uncached)),
            }
        finally:
            subprocess.run([*CLI, "--data-dir", str(home), "chain", "down"], cwd=ROOT, capture_output=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    r = run(parser.parse_args().runs)
    print(
        f"whole process, min / median of {r['runs']} runs ({os.cpu_count()} cores, load before {r['load_before']:.2f})"
    )
    for key, what, target in (
        ("help", "certledger --help", "<= 0.3 s"),
        ("verify", "certledger verify BUNDLE (embedded chain)", "<= 0.6 s"),
        ("help_no_bytecode_cache", "certledger --help, PYTHONDONTWRITEBYTECODE=1", ""),
        ("verify_no_bytecode_cache", "certledger verify BUNDLE, PYTHONDONTWRITEBYTECODE=1", ""),
    ):
        print(f"  {what:<52} {r[key]['min_s']:.2f} / {r[key]['median_s']:.2f} s  {target}")
    print(json.dumps(r))


if __name__ == "__main__":
    main()
