"""The anchoring process's state file as the API workers read it for /healthz."""

from __future__ import annotations

import json
import time

from issuer_api.anchorer_status import STALE_S, read_status, write_status


def test_a_fresh_file_reports_the_chain_state(tmp_path):
    path = tmp_path / "anchorer.json"
    write_status(path, {"running": True, "worker": "w-1", "chainReachable": False, "chainDownForS": 12.5})
    assert read_status(path) == {"running": True, "worker": "w-1", "chainReachable": False, "chainDownForS": 12.5}
    assert not list(tmp_path.glob(".*.tmp"))  # written aside, then renamed over


def test_a_stale_missing_or_broken_file_reads_as_not_running(tmp_path):
    path = tmp_path / "anchorer.json"
    assert read_status(None) == {"running": False}
    assert read_status(path) == {"running": False}
    write_status(path, {"running": True, "chainReachable": True, "chainDownForS": None})
    assert read_status(path, now=time.time() + STALE_S + 1) == {"running": False}  # heartbeats stopped
    path.write_text("{not json")
    assert read_status(path) == {"running": False}
    path.write_text(json.dumps({"at": time.time(), "running": False}))  # its anchoring thread died
    assert read_status(path) == {"running": False}
