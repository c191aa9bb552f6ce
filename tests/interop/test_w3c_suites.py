"""The official W3C test suites against CertLedger's VC API (docs/protocol.md §13), through the W3C
conformance kit's run.sh: vc-di-eddsa-test-suite (tag eddsa-jcs-2022, 13 tests) and
vc-data-model-2.0-test-suite (tag vc2.0, 59 tests).

Both services run on loopback as `certledger serve issuer` and `certledger serve verifier` (real
uvicorn processes) for a fresh data directory on the embedded chain, with an agency permitted
GenericCredential and an API key with the issue scope — the set-up of scripts/run_w3c_suites.py,
whose functions this test calls. Then `run.sh --issuer … --verifier … --issuer-did … --issuer-header
'Authorization: Bearer …'`, whose output is printed.

It passes only on "72 passed, 0 failed", or on "71 passed, 1 failed" where the one failure is the
data-model suite's test titled RELATED_RESOURCE_TITLE, failing because our issuer refused (422) the
suite's relatedResource fixture: that fixture carries the 2024 draft's digest of the v2 context,
which the Recommendation's bytes bundled here do not match (docs/protocol.md §13.4). Any other
failure, or a change in that one (another title, another reason), fails the test.

The kit is kept outside the repository: $CERTLEDGER_W3C_KIT names its directory, else
``../shared/interop/w3c`` from the repository's root. When neither holds run.sh the test is skipped,
and says so in the output. run.sh installs the suites from the npm registry the first time, into a
cache outside the repository (W3C_VC_SUITES_CACHE, else ~/.cache/w3c-vc-suites).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KIT_ENV = "CERTLEDGER_W3C_KIT"
DEFAULT_KIT = REPO.parent / "shared" / "interop" / "w3c"  # ../shared/interop/w3c from the repository's root
EDDSA, DATA_MODEL = "vc-di-eddsa-test-suite", "vc-data-model-2.0-test-suite"
RELATED_RESOURCE_TITLE = "The value of the relatedResource property MUST be one or more objects of the following form:"
# Why it fails: the issuer refused the fixture the test expects to be accepted (the digest mismatch).
RELATED_RESOURCE_REASON = (
    "Got unwanted rejection: Failed to accept a VC with valid relatedResource objects.",
    "Request failed with status code 422",
)
RUN_TIMEOUT_S = 1800  # the first run installs the suites from the npm registry

pytestmark = pytest.mark.integration


def _kit() -> tuple[Path | None, list[Path]]:
    """The kit's directory (the first candidate holding run.sh), and the candidates looked at."""
    candidates = ([Path(os.environ[KIT_ENV])] if os.environ.get(KIT_ENV) else []) + [DEFAULT_KIT]
    return next((c.resolve() for c in candidates if (c / "run.sh").is_file()), None), candidates


def _script():
    """scripts/run_w3c_suites.py, whose set-up this test runs."""
    spec = importlib.util.spec_from_file_location("run_w3c_suites", REPO / "scripts" / "run_w3c_suites.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _suites(output: str) -> dict[str, dict]:
    """Per suite the kit ran: its counts ("<suite>: N passed, M failed, K pending"), the titles of its
    failed tests (mocha's numbered lines before "N passing") and each failure's details."""
    suites = {}
    for name, counts in re.findall(r"^(vc-[\w.-]+): (\d+ passed, \d+ failed, \d+ pending)$", output, re.MULTILINE):
        passed, failed, pending = (int(n) for n in re.findall(r"\d+", counts))
        suites[name] = {"passed": passed, "failed": failed, "pending": pending, "failures": [], "details": {}}
    chunks = re.split(r"^\[run\.sh\] === (vc-[\w.-]+) \(tag [^)]*\) ===$", output, flags=re.MULTILINE)
    for name, chunk in zip(chunks[1::2], chunks[2::2]):
        if name not in suites:
            continue
        end = re.search(r"^\s+\d+ passing.*$", chunk, re.MULTILINE)
        listing, details = (chunk[: end.start()], chunk[end.end() :]) if end else (chunk, "")
        suites[name]["failures"] = re.findall(r"^\s+\d+\) (.+)$", listing, re.MULTILINE)
        for number, body in re.findall(r"^  (\d+)\) (.*?)(?=^  \d+\) |\Z)", details, re.MULTILINE | re.DOTALL):
            suites[name]["details"][int(number)] = body
    return suites


def _verdict(output: str) -> str | None:
    """None when the run is one of the two accepted outcomes, else what is wrong."""
    last = output.strip().splitlines()[-1] if output.strip() else ""
    total = re.fullmatch(r"(\d+) passed, (\d+) failed", last)
    if total is None:
        return f"run.sh did not end with 'N passed, M failed' (last line: {last!r})"
    suites = _suites(output)
    if set(suites) != {EDDSA, DATA_MODEL}:
        return f"expected the two suites' summaries, found {sorted(suites)}"
    eddsa, data_model = suites[EDDSA], suites[DATA_MODEL]
    if (eddsa["passed"], eddsa["failed"], eddsa["pending"]) != (13, 0, 0):
        return f"{EDDSA}: expected 13 passed, 0 failed, 0 pending; got {eddsa}"
    if total.groups() == ("72", "0"):
        return None if (data_model["passed"], data_model["failed"]) == (59, 0) else f"{DATA_MODEL}: {data_model}"
    if total.groups() != ("71", "1"):
        return f"expected '71 passed, 1 failed' (the relatedResource test) or '72 passed, 0 failed'; got {last!r}"
    if (data_model["passed"], data_model["failed"], data_model["pending"]) != (58, 1, 0):
        return f"{DATA_MODEL}: expected 58 passed, 1 failed; got {data_model}"
    if data_model["failures"] != [RELATED_RESOURCE_TITLE]:
        return f"{DATA_MODEL}: the failed test is not the relatedResource one: {data_model['failures']}"
    detail = data_model["details"].get(1, "")
    if RELATED_RESOURCE_TITLE not in detail or not all(reason in detail for reason in RELATED_RESOURCE_REASON):
        return f"{DATA_MODEL}: the relatedResource test failed for another reason than before:\n{detail}"
    return None


@pytest.mark.timeout(RUN_TIMEOUT_S + 300)
def test_the_w3c_suites_pass_but_the_related_resource_fixture(tmp_path, capsys):
    kit, looked_at = _kit()
    if kit is None:
        reason = (
            "the W3C conformance kit is absent: no run.sh in "
            + " nor ".join(str(c) for c in looked_at)
            + f" (set {KIT_ENV} to the kit's directory)"
        )
        with capsys.disabled():
            print(f"\nW3C suites SKIPPED: {reason}")
        pytest.skip(reason)
    script = _script()
    home = tmp_path / "home"
    services = None
    try:
        key, did = script.prepare(home)
        services = script.start_services(home, log_dir=tmp_path)
        started = time.monotonic()
        done = subprocess.run(
            script.kit_command(kit / "run.sh", services, did, key),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=RUN_TIMEOUT_S,
        )
        elapsed = time.monotonic() - started
    finally:
        script.stop_services(services, home)
    output = done.stdout
    print(output)  # the kit's whole report, for the record (pytest -s, or with a failure)
    installs = re.findall(r"^\[run\.sh\] dependencies: (.*)$", output, re.MULTILINE)
    with capsys.disabled():
        last = output.strip().splitlines()[-1] if output.strip() else "(no output)"
        print(f"\nW3C suites ({kit}): {last} in {elapsed:.0f} s; " + "; ".join(installs))
    problem = _verdict(output)
    assert problem is None, f"{problem}\n\n--- run.sh (exit {done.returncode}) ---\n{output[-20000:]}"


# ------------------------------------------------------------------- the verdict, on recorded outputs


def _output(data_model: str, total: str, titles=(), detail: str = "") -> str:
    listing = "".join(f"      {i}) {t}\n" for i, t in enumerate(titles, 1))
    return (
        f"[run.sh] === {EDDSA} (tag eddsa-jcs-2022) ===\n  eddsa\n    ✔ Local should verify Local\n\n"
        f"  13 passing (485ms)\n\n[run.sh] === {DATA_MODEL} (tag vc2.0) ===\n  Advanced Concepts\n    Local\n"
        f"{listing}      ✔ The identifier for the resource is REQUIRED\n\n  58 passing (2s)\n  1 failing\n\n"
        f"{detail}\n\n{EDDSA}: 13 passed, 0 failed, 0 pending\n{DATA_MODEL}: {data_model}\n{total}\n"
    )


KNOWN_DETAIL = (
    f"  1) Advanced Concepts\n       Local\n         {RELATED_RESOURCE_TITLE}:\n     AssertionError "
    f'[ERR_ASSERTION]: {RELATED_RESOURCE_REASON[0]}\nActual message: "{RELATED_RESOURCE_REASON[1]} '
    'Unprocessable Entity: POST https://127.0.0.1:1/credentials/issue"\n'
)


def test_the_verdict_accepts_only_the_two_outcomes():
    assert (
        _verdict(
            _output("58 passed, 1 failed, 0 pending", "71 passed, 1 failed", [RELATED_RESOURCE_TITLE], KNOWN_DETAIL)
        )
        is None
    )
    assert _verdict(_output("59 passed, 0 failed, 0 pending", "72 passed, 0 failed")) is None
    other = "The value of the id property MUST be a single URL"
    assert "not the relatedResource" in _verdict(
        _output(
            "58 passed, 1 failed, 0 pending",
            "71 passed, 1 failed",
            [other],
            KNOWN_DETAIL.replace(RELATED_RESOURCE_TITLE, other),
        )
    )
    assert "another reason" in _verdict(
        _output(
            "58 passed, 1 failed, 0 pending",
            "71 passed, 1 failed",
            [RELATED_RESOURCE_TITLE],
            KNOWN_DETAIL.replace("422", "500"),
        )
    )
    assert (
        _verdict(
            _output(
                "57 passed, 2 failed, 0 pending", "70 passed, 2 failed", [RELATED_RESOURCE_TITLE, other], KNOWN_DETAIL
            )
        )
        is not None
    )
    assert _verdict("run.sh: node (>= 18) is required\n") is not None
