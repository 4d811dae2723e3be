"""The per-connection message budget: IB allows 50 messages/s per client connection; we send at most 45.

ib_async throttles too, but by queueing inside ``placeOrder``, so an order's acknowledgement timeout would start
while the order still waits in that queue. Taking a slot here first means that a message is on the wire when the
ack clock starts, and that a thousand-follower fan-out is spread evenly instead of timing out in a local queue.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque


class MessageBudget:
    """At most ``rate`` messages in any ``interval_s`` window (real seconds)."""

    def __init__(self, rate: int = 45, interval_s: float = 1.0) -> None:
        self.rate = rate
        self.interval_s = interval_s
        self._sent: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def slot(self, messages: int = 1) -> None:
        """Wait until ``messages`` more may be sent now, and count them as sent."""
        async with self._lock:
            for _ in range(messages):
                while True:
                    now = time.monotonic()
                    while self._sent and now - self._sent[0] >= self.interval_s:
                        self._sent.popleft()
                    if len(self._sent) < self.rate:
                        self._sent.append(now)
                        break
                    await asyncio.sleep(self._sent[0] + self.interval_s - now)
