"""Shared pytest configuration: the local-stack fixtures (see ``stack.testing``) and the integration marker."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

pytest_plugins = ["stack.testing"]

_INTEGRATION = Path(__file__).parent / "integration"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/integration as ``integration`` (``-m "not integration"`` runs the fast ones)."""
    for item in items:
        if _INTEGRATION in item.path.parents:
            item.add_marker(pytest.mark.integration)


_E2E = Path(__file__).parent / "e2e"


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Refuse to start a test in a thread whose event loop an earlier test left running.

    Such a leak (a sync Playwright kept open past its folder, a loop stopped by an exception) makes every later
    ``asyncio.run`` fail with "cannot be called from a running event loop": hundreds of failures far from the cause.
    Only the browser tests run inside Playwright's loop, so only they may find one.
    """
    leaked = asyncio._get_running_loop()
    if leaked is not None and _E2E not in item.path.parents:
        pytest.fail(f"an earlier test left the event loop {leaked!r} running in the main thread (a sync_playwright "
                    "or loop never closed): close it in that test's fixture", pytrace=False)
