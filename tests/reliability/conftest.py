"""The integration fixtures (real anvil worlds, PostgreSQL, IPFS) for this suite too."""

from pathlib import Path

import pytest

from tests.integration.conftest import shared_world, world  # noqa: F401 - pytest fixtures

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    # Real processes and services: the same marker as the integration tests. The hook sees every
    # collected test, so only this directory's are marked.
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.integration)
