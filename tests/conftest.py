"""Shared pytest configuration: the local-stack fixtures (see ``stack.testing``) and the integration marker."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["stack.testing"]

_INTEGRATION = Path(__file__).parent / "integration"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/integration as ``integration`` (``-m "not integration"`` runs the fast ones)."""
    for item in items:
        if _INTEGRATION in item.path.parents:
            item.add_marker(pytest.mark.integration)

