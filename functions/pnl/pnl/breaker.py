"""The consecutive-loss breaker: after the daily rollup, a follower whose trades lost ``consecutive_loss_limit``
times in a row gets its entries paused (``controls/{follower_id}``, as the daily-loss breaker and an operator's
pause write it) and one CRITICAL alert; an operator looks and resumes. 0 turns it off.

Runs over trades, not days (``spreadpilot.performance``): a day without a trade neither extends nor breaks a run.
Reads the last ``LOOKBACK`` of daily documents of each follower who lost today, and of no one else. Idempotent: a
redelivered tick writes the same pause and the same alert id.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from pnl.alerts import publish_alert
from pnl.records import PnLRecords
from spreadpilot.models import Alert, DailyPnL, Severity
from spreadpilot.performance import performance
from spreadpilot.publisher import Publisher

log = logging.getLogger(__name__)

LOOKBACK = timedelta(days=120)  # calendar days of daily documents a losing run is counted over
BREAKER = "consecutive-loss-breaker"


def losing_today(docs: Iterable[DailyPnL], day: date) -> set[str]:
    """Followers whose trade of ``day`` lost."""
    return {d.follower_id for d in docs if d.date == day and d.trades > 0 and d.realized_pnl < 0}


def trip_on_losing_runs(records: PnLRecords, publisher: Publisher, day: date, today: Iterable[DailyPnL],
                        limit: int, now: datetime) -> list[str]:
    """Pause the entries of every follower whose losing run reached ``limit`` with today's trade; who was paused."""
    losers = losing_today(today, day)
    if limit <= 0 or not losers:
        return []
    tripped = []
    for follower_id in sorted(losers):
        run = performance(records.daily_of(follower_id, day - LOOKBACK, day)).consecutive_losses
        if run < limit:
            continue
        reason = f"{run} losing trades in a row (limit {limit}), the last on {day}"
        records.pause_entries(follower_id, reason=reason, by=BREAKER, at=now)
        publish_alert(publisher, Alert(
            alert_id=f"pnl-loss-run-{follower_id}-{day.isoformat()}", type="follower.loss_run",
            severity=Severity.CRITICAL, at=now, source="pnl", follower_id=follower_id,
            message=f"{follower_id}: {reason}; new entries paused until an operator resumes them",
            context={"date": day.isoformat(), "losing_trades": str(run)}))
        log.warning("consecutive-loss breaker tripped", extra={"follower_id": follower_id, "run": run})
        tripped.append(follower_id)
    return tripped
