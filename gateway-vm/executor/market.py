"""Market data for entries: the combo qualified once per gateway and signal, and one live quote shared for a while.

A request here sends no order, so its timeout is a ``MarketDataTimeout`` (ask again), never an unknown order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from executor.broker import AckTimeout, Combo, ComboQuote, MarketDataTimeout
from executor.gateways import GatewayLink
from spreadpilot.clock import Clock
from spreadpilot.models import OrderIntent

T = TypeVar("T")


@dataclass(frozen=True)
class Market:
    """The qualified combo and its quote on one gateway for one signal."""

    combo: Combo
    quote: ComboQuote


class MarketCache:
    """Qualify the legs once per gateway and signal, and share one live quote among followers for ``ttl_s``.

    However many followers ask at once, one qualification and one quote go out per gateway; an entry that starts
    later (a large fan-out's tail, a resend after reconciliation) gets a fresh quote, not the opening one.
    """

    def __init__(self, clock: Clock, ttl_s: float) -> None:
        self.clock = clock
        self.ttl_s = ttl_s
        self._combos: dict[tuple[str, str], asyncio.Task[Combo]] = {}
        self._quotes: dict[tuple[str, str], tuple[float, asyncio.Task[ComboQuote | None]]] = {}

    async def get(self, link: GatewayLink, intent: OrderIntent) -> Market:
        """The market of ``intent``'s spread on ``link`` (a failed lookup is retried by the next caller)."""
        key = (link.gateway_id, intent.signal_id)
        combo_task = self._combos.get(key)
        if combo_task is None or _failed(combo_task):
            spread = intent.spread
            combo_task = asyncio.ensure_future(link.broker.qualify(
                intent.symbol, intent.expiry, spread.right, spread.short_strike, spread.long_strike))
            self._combos[key] = combo_task
        combo = await asyncio.shield(combo_task)
        now = self.clock.now().timestamp()
        fetched_at, quote_task = self._quotes.get(key, (0.0, None))
        if quote_task is None or _failed(quote_task) or _empty(quote_task) or now - fetched_at > self.ttl_s:
            quote_task = asyncio.ensure_future(link.broker.quote(combo))
            self._quotes[key] = (now, quote_task)
        quote = await asyncio.shield(quote_task)
        if quote is None:  # a leg without a quote right now: not cached, the entry asks again
            raise MarketDataTimeout(f"no live quote for {intent.spread.short_strike}/{intent.spread.long_strike}")
        return Market(combo, quote)


async def market_data(awaitable: Awaitable[T]) -> T:
    """Await a request that sends no order; a timeout of it is a ``MarketDataTimeout``, never an unknown order."""
    try:
        return await awaitable
    except AckTimeout as exc:
        raise MarketDataTimeout(str(exc)) from exc


def _failed(task: asyncio.Task[T]) -> bool:
    return task.done() and (task.cancelled() or task.exception() is not None)


def _empty(task: asyncio.Task[ComboQuote | None]) -> bool:
    return task.done() and not _failed(task) and task.result() is None
