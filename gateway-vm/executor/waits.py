"""Waiting on the event loop for the first of several things, one of which is always the executor's stop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable


async def wait_any(stop: asyncio.Event, *aws: Awaitable[object]) -> None:
    """Return when ``stop`` is set or any of ``aws`` completes; the others are cancelled."""
    tasks = [asyncio.ensure_future(stop.wait()), *(asyncio.ensure_future(a) for a in aws)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
