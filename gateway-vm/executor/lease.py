"""Gateway leases: one executor process drives a gateway at a time, and a dead one's gateways are taken over.

``leases/{gateway_id}`` holds ``{holder, epoch, expires_at}``. A process takes a lease that is free or expired
(the epoch goes up by one: the fencing token), renews its own before it expires, and gives it up on the way out.
Everything a process does on a gateway depends on holding its lease *by its own conservative reckoning*: the lease
counts as held only until ``ttl × (1 − margin)`` after the renewal request was sent, so a process that cannot
renew stops before another can take over. Every intent write carries the epoch, and the store refuses a write
whose epoch is older than the one already on the document (``LeaseLost``), so a late write of a process that lost
its lease never overwrites its successor's.

Durations are real seconds (``ttl_s``), converted to business time for ``expires_at`` with the clock's speed, so a
simulated day that runs fast keeps the same real-time safety.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from spreadpilot.clock import Clock
from spreadpilot.errors import Retryable

log = logging.getLogger(__name__)


class LeaseLost(Retryable):
    """This process no longer holds the gateway's lease (a newer epoch wrote, or the lease expired)."""


@dataclass(frozen=True)
class LeaseRecord:
    """The ``leases/{gateway_id}`` document."""

    holder: str
    epoch: int
    expires_at: datetime


class LeaseStore(Protocol):
    """Where leases live (Firestore in production)."""

    async def take(self, gateway_id: str, holder: str, now: datetime, expires_at: datetime,
                   fresh: bool = False) -> int | None:
        """Take or renew the lease if it is ours, free or expired at ``now``; the epoch held, or None.

        ``fresh``: the first take of a new process; even a lease still held under its own name gets a new epoch,
        so a write its dead predecessor left in flight cannot land over its own."""
        ...

    async def give_up(self, gateway_id: str, holder: str, epoch: int) -> None:
        """Release the lease if it is still ours at ``epoch``."""
        ...


def next_record(current: LeaseRecord | None, holder: str, now: datetime, expires_at: datetime,
                fresh: bool = False) -> LeaseRecord | None:
    """The lease after ``holder`` asks for it at ``now``, or None if someone else holds it."""
    if current is None:
        return LeaseRecord(holder, 1, expires_at)
    if current.holder == holder and current.expires_at > now:
        # a renewal keeps the epoch; a restarted process under the same name fences out its predecessor
        return LeaseRecord(holder, current.epoch + 1 if fresh else current.epoch, expires_at)
    if current.expires_at <= now:
        return LeaseRecord(holder, current.epoch + 1, expires_at)  # a takeover fences the previous holder
    return None


class GatewayLease:
    """This process's lease on one gateway."""

    def __init__(self, store: LeaseStore, gateway_id: str, holder: str, clock: Clock, *, ttl_s: float = 30.0,
                 margin: float = 0.25) -> None:
        self.store = store
        self.gateway_id = gateway_id
        self.holder = holder
        self.clock = clock
        self.ttl_s = ttl_s
        self.margin = margin
        self.epoch: int | None = None
        self._valid_until = 0.0  # loop time
        self._fresh = True  # no take has succeeded in this process yet

    @property
    def renew_every_s(self) -> float:
        """Real seconds between renewals (a third of the lease)."""
        return self.ttl_s / 3

    def held(self) -> bool:
        """True while the lease is ours by our own conservative reckoning."""
        return self.epoch is not None and asyncio.get_running_loop().time() < self._valid_until

    async def renew(self) -> bool:
        """Take or renew the lease; True if it is held afterwards (a store error counts as not renewed)."""
        loop = asyncio.get_running_loop()
        asked_at = loop.time()
        now = self.clock.now()
        expires_at = now + timedelta(seconds=self.ttl_s * self.clock.speed)
        try:
            # a renewal that hangs past what is left of the lease counts as failed: ownership must lapse on time
            left = max(0.1, self._valid_until - asked_at) if self.epoch is not None else self.ttl_s
            epoch = await asyncio.wait_for(
                self.store.take(self.gateway_id, self.holder, now, expires_at, self._fresh), left)
        except Exception as exc:  # a store outage: keep what we have until it runs out, try again next time
            log.warning("lease renewal failed", extra={"gateway_id": self.gateway_id, "error": repr(exc)})
            return self.held()
        if epoch is None:
            if self.epoch is not None:
                log.warning("lease held by another process", extra={"gateway_id": self.gateway_id})
            self.epoch = None
            return False
        self._fresh = False
        if epoch != self.epoch:
            log.info("lease taken", extra={"gateway_id": self.gateway_id, "epoch": epoch, "holder": self.holder})
        self.epoch = epoch
        self._valid_until = asked_at + self.ttl_s * (1 - self.margin)
        return True

    def lapse(self) -> None:
        """This process let the gateway go: the next take starts a new epoch, so a write it issued before (still on
        its way in a hung connection) is refused once the gateway is taken again, even by this same process."""
        self._fresh = True

    async def give_up(self) -> None:
        """Release the lease (on shutdown), so another process may take it at once."""
        epoch, self.epoch = self.epoch, None
        if epoch is not None:
            try:
                await self.store.give_up(self.gateway_id, self.holder, epoch)
            except Exception as exc:  # it expires by itself
                log.warning("lease release failed", extra={"gateway_id": self.gateway_id, "error": repr(exc)})
