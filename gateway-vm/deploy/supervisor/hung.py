"""A hung gateway: its container runs and IBC logged in, but the API handshake has not completed for minutes, or
the executor reports a data farm broken for minutes (``gateways/{id}.restart_wanted``, ``executor.farms``).

IB Gateway hangs that way after a failed nightly restart or a lost server connection it never recovers from (the
process is up, the port may even accept, nothing answers). Restarting the container cures it, but costs the open
API sessions and, on a cold start, a 2FA. So the supervisor restarts it by itself only outside the trading day's
busy hours (09:25-16:15 ET on a trading day, the end moved with a half day's close); inside them it asks an operator,
who approves the restart in the web app (``gateways/{id}.restart_approved_at``), and restarts it once approved.
Three restarts of its own within an hour that never made the API answer: it stops restarting and asks instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum

from spreadpilot.clock import new_york
from spreadpilot.market_calendar import is_trading_day, on_the_day

ASK_FROM, ASK_UNTIL = time(9, 25), time(16, 15)  # New York; the end moves with a half day's close
SELF_RESTARTS, SELF_RESTART_WINDOW = 3, timedelta(hours=1)  # then a restart does not help: an operator decides


class Step(StrEnum):
    """What to do about one gateway this pass."""

    NOTHING = "nothing"  # answering, or not hung for long enough yet
    ASK = "ask"  # hung during the trading day: an operator is asked (once) and decides
    RESTART = "restart"  # hung outside the busy hours, or an operator approved the restart


def busy_hours(at: datetime) -> bool:
    """Whether ``at`` falls in a trading day's 09:25-16:15 New York (13:15 on a half day)."""
    local = new_york(at)
    if not is_trading_day(local.date()):
        return False
    return ASK_FROM <= local.time() < on_the_day(local.date(), ASK_UNTIL)


@dataclass
class HungWatch:
    """Per gateway, since when its API has not answered while IBC says it is logged in."""

    restart_after_s: float
    since: dict[str, datetime] = field(default_factory=dict)
    asked: set[str] = field(default_factory=set)
    restarts: dict[str, list[datetime]] = field(default_factory=dict)  # by the supervisor itself, since it answered

    def step(self, gateway_id: str, hung: bool, now: datetime, approved_at: datetime | None,
             since: datetime | None = None) -> tuple[Step, float]:
        """This pass's step for the gateway, and how long it has been hung (seconds); ``since``: when it began, if
        known from elsewhere (the executor's word on a data farm broken since then)."""
        if not hung:
            self.forget(gateway_id)
            return Step.NOTHING, 0.0
        since = min(self.since.setdefault(gateway_id, now), since or now)
        self.since[gateway_id] = since
        hung_s = (now - since).total_seconds()
        if hung_s < self.restart_after_s:
            return Step.NOTHING, hung_s
        if approved_at is not None and approved_at >= since:
            return Step.RESTART, hung_s
        if not busy_hours(now) and not self.restarting_in_vain(gateway_id, now):
            return Step.RESTART, hung_s
        return Step.ASK, hung_s

    def restarting_in_vain(self, gateway_id: str, now: datetime) -> bool:
        """Restarted ``SELF_RESTARTS`` times within ``SELF_RESTART_WINDOW`` and its API never answered since: a
        restart does not cure it (IB Gateway's API settings, a login that cannot trade); an operator decides."""
        recent = [at for at in self.restarts.get(gateway_id, []) if now - at < SELF_RESTART_WINDOW]
        return len(recent) >= SELF_RESTARTS

    def restarted(self, gateway_id: str, at: datetime) -> None:
        """The gateway was just restarted: a new hang starts afresh, the restart is counted until it answers."""
        self.restarts.setdefault(gateway_id, []).append(at)
        self.forget(gateway_id)

    def answered(self, gateway_id: str) -> None:
        """Its API answered: the restarts that led here worked."""
        self.restarts.pop(gateway_id, None)

    def first_ask(self, gateway_id: str) -> bool:
        """True the first time this hang is put to an operator (one alert per hang)."""
        if gateway_id in self.asked:
            return False
        self.asked.add(gateway_id)
        return True

    def forget(self, gateway_id: str) -> None:
        """The gateway answers again, was restarted or is gone: a later hang starts afresh."""
        self.since.pop(gateway_id, None)
        self.asked.discard(gateway_id)
