"""The execution ledger: every execution in a follower's account, written once to ``fills/{exec_id}``.

IB Gateway answers ``reqExecutions`` only back to midnight, so the ledger is ours and must not lose anything:
- every execution the broker reports (as an event, or in a truth fetch after a reconnect) is written, ours and
  foreign ones alike (a foreign one, by hand or by another client, is marked ``foreign``);
- a write that fails is kept and retried (``flush``, every ``retry_s`` business seconds) until it lands; whether an
  intent went final meanwhile does not matter, the ledger keys on the execution alone;
- a write is an upsert of the execution's latest version (the commission report comes after the execution), so a
  redelivered or re-swept execution changes nothing; an IB correction (the same execId up to its last dot)
  replaces the version it corrects (``spreadpilot.models.execution_key``).
Executions whose account belongs to no follower are not ours to book and are left out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from executor.broker import Execution
from executor.intents import ExecutorStore
from executor.waits import wait_any
from spreadpilot.clock import Clock
from spreadpilot.models import Fill, OrderIntent, execution_key, execution_revision

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Owner:
    """Whose execution it is: the intent it belongs to, or only the follower whose account it is in."""

    follower_id: str
    intent: OrderIntent | None


class ExecutionLedger:
    """Writes executions to the store exactly once each, retrying failures."""

    def __init__(self, store: ExecutorStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.written: dict[str, Fill] = {}  # execution key → the version known to be in the store
        self.pending: dict[str, Fill] = {}  # execution key → the latest version still to be written
        self.sweep_wanted = False  # something is missing (an execution, a commission): fetch them from the broker
        self._wake = asyncio.Event()

    def add(self, execution: Execution, owner: Owner) -> None:
        """Queue ``execution`` for writing (a BAG-level report and an already written version are ignored)."""
        if execution.sec_type == "BAG":
            return
        fill = to_ledger_fill(execution, owner)
        key = execution_key(fill.exec_id)
        known = self.pending.get(key) or self.written.get(key)
        if known == fill or (known is not None
                             and execution_revision(known.exec_id) > execution_revision(fill.exec_id)):
            return  # written already, or an older version of a corrected execution
        if not fill.commission:
            self.sweep_wanted = True  # IB reports it after the execution; a sweep brings it if its event is lost
        self.pending[key] = fill
        self._wake.set()

    def lacking_commission(self) -> int:
        """Executions written without their commission yet."""
        return sum(1 for f in {**self.written, **self.pending}.values() if not f.commission)

    def add_all(self, executions: Iterable[Execution], owner_of: Callable[[Execution], Owner | None]) -> int:
        """Queue every execution that has an owner; how many were queued."""
        queued = 0
        for execution in executions:
            owner = owner_of(execution)
            if owner is not None:
                before = len(self.pending)
                self.add(execution, owner)
                queued += len(self.pending) - before
        return queued

    async def flush(self) -> int:
        """Write everything pending (concurrently); how many writes are still pending afterwards."""
        batch = list(self.pending.values())
        results = await asyncio.gather(*(self.store.put_fill(f) for f in batch), return_exceptions=True)
        for fill, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                log.warning("fill not written yet; retrying", extra={"exec_id": fill.exec_id, "error": repr(result)})
                continue
            key = execution_key(fill.exec_id)
            self.written[key] = fill
            if self.pending.get(key) == fill:  # a newer version may have arrived meanwhile
                del self.pending[key]
        return len(self.pending)

    async def run(self, stop: asyncio.Event, retry_s: float = 2.0) -> None:
        """Write what arrives, and retry what failed every ``retry_s`` business seconds, until ``stop``."""
        while not stop.is_set():
            self._wake.clear()
            if self.pending and await self.flush():
                await wait_any(stop, self.clock.sleep(retry_s))
                continue
            await wait_any(stop, self._wake.wait())
        await self.flush()  # a last attempt on the way out; what is still pending a restart's sweep writes


def to_ledger_fill(execution: Execution, owner: Owner) -> Fill:
    """The ``fills/{exec_id}`` document of one leg execution."""
    intent = owner.intent
    return Fill(
        exec_id=execution.exec_id, intent_id=intent.intent_id if intent else "", order_ref=execution.order_ref,
        foreign=intent is None, follower_id=owner.follower_id, account=execution.account,
        perm_id=execution.perm_id or None, con_id=execution.con_id,
        symbol=execution.symbol or (intent.symbol if intent else ""),  # an execution of our order: its underlying
        sec_type=execution.sec_type,
        right=execution.right, strike=execution.strike, expiry=execution.expiry, side=execution.side,
        qty=execution.qty, price=execution.price, commission=execution.commission, at=execution.at,
    )
