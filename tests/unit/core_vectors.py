"""Load the reference test vectors under ``tests/vectors/`` (helper, not a test)."""

from __future__ import annotations

import json
from pathlib import Path

VECTORS = Path(__file__).resolve().parent.parent / "vectors"


def load_vector_json(*parts: str):
    return json.loads(VECTORS.joinpath(*parts).read_text(encoding="utf-8"))


def load_vector_text(*parts: str) -> str:
    return VECTORS.joinpath(*parts).read_text(encoding="utf-8")
