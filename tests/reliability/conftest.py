"""The integration fixtures (real anvil worlds, PostgreSQL, IPFS) for this suite too."""
from tests.integration.conftest import shared_world, world  # noqa: F401 - pytest fixtures

import pytest


def pytest_collection_modifyitems(items):
    # Real processes and services: the same marker as the integration tests.
    for item in items:
        item.add_marker(pytest.mark.integration)
