"""Shared helpers for the credential-core unit tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parent.parent / "vectors"


@pytest.fixture
def vectors_dir() -> Path:
    return VECTORS


def load_vector_json(*parts: str):
    return json.loads((VECTORS.joinpath(*parts)).read_text(encoding="utf-8"))


def load_vector_text(*parts: str) -> str:
    return VECTORS.joinpath(*parts).read_text(encoding="utf-8")
