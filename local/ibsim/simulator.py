"""The running simulator: clock, market, broker, listening socket, market ticks, scheduled and injected faults.

This is also the in-process control API (tests and the demo call these methods directly or through
``control.py``'s HTTP endpoint): ``set_price``, ``advance``, ``inject``, ``set_funds``, ``set_fills``, ``state``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ibsim import settlement, wire
from ibsim.broker import Broker
from ibsim.config import FillMode, SimConfig
from ibsim.faults import (
    CONNECTIVITY_CODES,
    KINDS,
    ORDER_FAULTS,
    OrderError,
    SlowAnswer,
    request_code,
    resolve_account,
)
from ibsim.journal import Journal
from ibsim.market import Market, close_on
from ibsim.scenario import Scenario, ScheduledFault, load_scenario
from ibsim.session import Session
from spreadpilot import market_calendar
from spreadpilot.clock import RealClock, SimClock, new_york

log = logging.getLogger("ibsim")


class Simulator:
    """One simulated IB Gateway."""

    def __init__(self, config: SimConfig, clock: RealClock | SimClock | None = None) -> None:
        self.config = config
        self.clock = clock or RealClock()
        self.offset = timedelta(0)
        self.market = Market(config.underlying, config.volatility, config.rate, config.spread_fraction)
        self.scenario: Scenario | None = load_scenario(config.scenario_path) if config.scenario_path else None
        self.pending_faults: list[ScheduledFault] = []
        if self.scenario is not None:
            self.market.knots = self.scenario.path
            self.pending_faults = [f for f in self.scenario.faults if f.at >= new_york(self.now()).time()]
        self.journal = Journal(config.journal_path, self.now)
        self.broker = Broker(config, self.now, self.journal, self.market)
        self.broker.on_link_lost_at_order = self._link_lost_at_order
        self.broker.speed = self.clock.speed
        self.sessions: set[Session] = set()
        self.server: asyncio.Server | None = None
        self.port = config.port
        self.refusing = False
        self._tasks: list[asyncio.Task[None]] = []
        self._expired_days: set[str] = set()

    def now(self) -> datetime:
        """Simulated now (the shared clock plus any ``advance``)."""
        return self.clock.now() + self.offset

    # --- lifecycle ----------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Listen and start the market ticker (the exchange calendar loaded first: the ticker asks it every tick)."""
        today = new_york(self.now()).date()  # read in a child process: pandas never lives in the simulator
        await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(market_calendar.preload_isolated, today))
        await self._listen()
        self._tasks.append(asyncio.create_task(self._ticker()))

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: Session(self), self.config.host, self.port,
                                               reuse_address=True, backlog=1024)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening, drop every connection, close the journal."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.server is not None:
            self.server.close()
        for session in list(self.sessions):
            session.abort()
        self.journal.close()

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.config.tick_interval_s)
            try:
                self.tick()
            except Exception:  # the ticker must outlive one bad tick; the traceback says what broke
                log.exception("market tick failed")

    def tick(self) -> None:
        """One market tick: relist, run due faults, settle expiries, fill resting orders, stream quotes and P&L."""
        self.broker.refresh_chain()
        ny = new_york(self.now())
        while self.pending_faults and self.pending_faults[0].at <= ny.time():
            fault = self.pending_faults.pop(0)
            self.inject(fault.kind, **fault.params)
        day = ny.date().isoformat()
        if ny.time() >= close_on(ny.date()) and day not in self._expired_days:  # 13:00 on a half day
            self._expired_days.add(day)
            self.broker.expire_day_orders()
            settlement.expire(self.broker, ny.date())
        self.broker.sweep()
        for session in list(self.sessions):
            if session.registered:
                session.tick()

    # --- connection ids -----------------------------------------------------------------------------------------
    def next_id_for(self, client_id: int) -> int:
        """nextValidId for a (re)connecting client; a ``lower_next_id`` fault makes it go backwards."""
        override = self.broker.faults.next_id_override
        if override is not None:
            self.broker.faults.next_id_override = None
            self._forget_finished_ids(client_id)
            return override
        return max(self.broker.next_ids.get(client_id, 0), self.config.first_order_id)

    def _forget_finished_ids(self, client_id: int) -> None:
        """A restarted gateway reuses ids: finished orders move out of the way, keyed by permId."""
        for key, order in list(self.broker.orders.items()):
            if key[0] == client_id and order.is_done:
                del self.broker.orders[key]
                self.broker.orders[(client_id, -order.perm_id)] = order
        self.broker.next_ids[client_id] = 0

    # --- control API --------------------------------------------------------------------------------------------
    def set_price(self, price: float | None) -> None:
        """Pin QQQ at ``price`` (None returns to the scenario path)."""
        self.market.override = price
        self.tick()

    def advance(self, seconds: float) -> None:
        """Move simulated time forward (on top of the shared clock) and run what became due."""
        self.offset += timedelta(seconds=seconds)
        self.tick()

    def set_funds(self, account: str, cash: Decimal) -> None:
        """Set an account's cash (AvailableFunds follows)."""
        self.broker.accounts[account].cash = cash

    def set_fills(self, mode: str | None = None, delay_s: float | None = None,
                  slippage: Decimal | None = None) -> None:
        """Change the fill model at run time."""
        if mode is not None:
            self.config.fill_mode = FillMode(mode)
        if delay_s is not None:
            self.config.fill_delay_s = delay_s
        if slippage is not None:
            self.config.slippage = slippage

    def inject(self, kind: str, **params: Any) -> dict[str, Any]:
        """Apply one fault now (see ``faults.py`` for the kinds)."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {sorted(KINDS)}")
        slow = _slow_answer(params) if kind == "slow_answer" else None  # a bad request name is refused unjournaled
        account = resolve_account(params, self.config.accounts)
        self.journal.write("fault", account or "", kind=kind, **{k: v for k, v in params.items() if k != "account"})
        result: dict[str, Any] = {"kind": kind}
        if kind in ORDER_FAULTS:
            if kind == "link_lost_at_order":
                self.broker.faults.link_lost_s = float(params.get("seconds", 5))
            if kind == "order_error":
                self.broker.faults.order_errors.append(OrderError(account, int(params["code"]),
                                                                  str(params.get("text", "")),
                                                                  bool(params.get("keep", False))))
            self.broker.faults.arm(kind, account)
        elif kind in CONNECTIVITY_CODES:
            self._connectivity(CONNECTIVITY_CODES[kind])
        elif kind == "nightly_reset":
            self._link_outage(float(params.get("seconds", 5)))
        elif kind == "system_message":
            self._system_message(int(params["code"]), str(params.get("text", "")))
        elif kind == "disconnect":
            self.disconnect(float(params.get("seconds", 10)))
        elif kind == "lower_next_id":
            self.broker.faults.next_id_override = int(params.get("next_id", 1))
        elif kind == "assignment":
            targets = [account] if account else list(self.broker.accounts)
            result["assigned"] = [a for a in targets if settlement.assign(self.broker, a, params.get("con_id"),
                                                                          params.get("qty"))]
        elif kind == "expire":
            result["settled"] = settlement.expire(self.broker, new_york(self.now()).date())
        elif slow is not None:
            self.broker.faults.slow.append(slow)
        return result

    def later(self, sim_seconds: float, action: Any) -> None:
        """Run ``action`` after ``sim_seconds`` of simulated time."""
        asyncio.get_running_loop().call_later(sim_seconds / self.clock.speed, action)

    def _connectivity(self, code: int) -> None:
        """1100: the gateway loses IBKR (orders are then held or rejected); 1101/1102: back, and the held orders go
        out after the clients are told."""
        if code == CONNECTIVITY_CODES["connectivity_lost"]:
            self.broker.lose_link()
        self._system_message(code)
        if code == CONNECTIVITY_CODES["connectivity_restored_data_lost"]:
            # "Data lost": market data subscriptions are gone and the client must request them again.
            for session in self.sessions:
                session.market_data.clear()
        if code != CONNECTIVITY_CODES["connectivity_lost"]:
            self.broker.restore_link()

    def _link_lost_at_order(self, sim_seconds: float) -> None:
        """1100 reaches the clients after the order's own answer (the order arrived first)."""
        asyncio.get_running_loop().call_soon(self._link_outage, sim_seconds)

    def _link_outage(self, sim_seconds: float) -> None:
        """1100 now, 1102 after ``sim_seconds``; the sockets stay open."""
        self._connectivity(CONNECTIVITY_CODES["connectivity_lost"])
        self.later(sim_seconds, lambda: self._connectivity(CONNECTIVITY_CODES["connectivity_restored"]))

    def _system_message(self, code: int, text: str | None = None) -> None:
        """Error ``code`` to every client, tied to no request (id -1); the link codes carry IB's own text."""
        texts = {1100: "Connectivity between IB and Trader Workstation has been lost.",
                 1101: "Connectivity between IB and TWS has been restored- data lost.",
                 1102: "Connectivity between IB and TWS has been restored- data maintained."}
        for session in list(self.sessions):
            if session.registered:
                session.send(wire.error(-1, code, texts[code] if text is None else text))

    def disconnect(self, sim_seconds: float) -> None:
        """Abruptly close every connection and refuse new ones for ``sim_seconds``."""
        if self.server is not None:
            self.server.close()
            self.server = None
        self.refusing = True
        for session in list(self.sessions):
            session.abort()
        self.later(sim_seconds, lambda: asyncio.ensure_future(self._reopen()))

    async def _reopen(self) -> None:
        await self._listen()
        self.refusing = False

    def state(self) -> dict[str, Any]:
        """A JSON-ready picture of the simulator (for tests and the demo)."""
        from ibsim.reporting import account_values

        return {
            "now": self.now().isoformat(),
            "underlying": self.broker.underlying(),
            "port": self.port,
            "refusing": self.refusing,
            "clients": sorted(self.broker.connections),
            "accounts": {
                a.account_id: {
                    "values": account_values(self.broker, a),
                    "positions": [{"con_id": p.listing.con_id, "local_symbol": p.listing.local_symbol,
                                   "qty": p.qty, "avg_cost": str(p.avg_cost)} for p in a.held()],
                }
                for a in self.broker.accounts.values()
            },
            "orders": [{"order_id": o.order_id, "client_id": o.client_id, "perm_id": o.perm_id,
                        "account": o.account, "order_ref": o.order_ref, "status": o.status.value,
                        "filled": o.filled, "qty": o.qty, "limit": str(o.limit)} for o in self.broker.orders.values()],
            "fills": len(self.broker.fills),
        }


def _slow_answer(params: dict[str, Any]) -> SlowAnswer:
    client_id = params.get("client_id")
    return SlowAnswer(request_code(str(params.get("request", ""))), float(params.get("seconds", 10)),
                      None if client_id is None else int(client_id))
