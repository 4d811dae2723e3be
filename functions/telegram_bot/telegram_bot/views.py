"""What ``/status``, ``/positions``, ``/pnl``, ``/alerts`` and ``/follower`` answer, as plain text."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from decimal import Decimal

from spreadpilot.clock import new_york
from spreadpilot.models import DailyPnL, OrderIntent, PnLSnapshot, Position, Signal
from spreadpilot.money import format_money
from telegram_bot.ports import FollowerBrief, Heartbeat, OpenAlert

PAGE_LINES = 25  # lines of a long list per message; the buttons under it turn the pages


def money(value: Decimal) -> str:
    """Signed dollars, rounded as every statement rounds them (``spreadpilot.money``: half up to cents)."""
    return format_money(value, signed=True)


def _age(now: datetime, then: datetime) -> str:
    seconds = int((now - then).total_seconds())
    return f"{seconds} s" if abs(seconds) < 120 else f"{seconds // 60} min"


def page(head: str, lines: list[str], number: int, kind: str) -> tuple[str, list[tuple[str, str]]]:
    """Page ``number`` (from 1, clamped) of ``lines`` under ``head``, and the buttons to the pages beside it (their
    callback data ``{kind}:{page}``; none when everything fits on one page)."""
    pages = max(1, -(-len(lines) // PAGE_LINES))
    number = min(max(1, number), pages)
    shown = lines[(number - 1) * PAGE_LINES:number * PAGE_LINES]
    if pages == 1:
        return "\n".join([head, *shown] if head else shown), []
    buttons = ([(f"‹ page {number - 1}", f"{kind}:{number - 1}")] if number > 1 else []) + (
        [(f"page {number + 1} ›", f"{kind}:{number + 1}")] if number < pages else [])
    return "\n".join([f"{head} (page {number} of {pages})".strip(), *shown]), buttons


def status_text(
    now: datetime,
    heartbeat: Heartbeat | None,
    max_age_s: int,
    day: date,
    signals: list[Signal],
    orders: dict[str, list[OrderIntent]],
) -> str:
    """Executor heartbeat, gateways, today's signal and an orders summary."""
    if heartbeat is None:
        lines = ["Executor: no heartbeat"]
    else:
        stale = (now - heartbeat.at).total_seconds() > max_age_s
        lines = [f"Executor: {'STALE' if stale else 'alive'} (heartbeat {_age(now, heartbeat.at)} ago)"]
        for gateway_id, gateway in sorted(heartbeat.gateways.items()):
            state = "connected" if gateway.connected else "DISCONNECTED"
            since = f" since {new_york(gateway.since):%H:%M:%S} ET" if gateway.since else ""
            lines.append(f"Gateway {gateway_id}: {state}{since}")
    if not signals:
        lines.append(f"Signal {day}: none yet")
    for signal in signals:
        spread = signal.spread
        lines.append(
            f"Signal {day}: {signal.signal_id} {spread.strategy} {spread.short_strike}/{spread.long_strike}"
            f" ×{signal.qty_per_leg}"
        )
        intents = orders.get(signal.signal_id, [])
        counts = Counter(str(intent.state) for intent in intents)
        summary = " · ".join(f"{state} {n}" for state, n in sorted(counts.items()))
        lines.append(f"Orders: {len(intents)} total" + (f" · {summary}" if summary else ""))
    return "\n".join(lines)


def positions_page(positions: list[Position], number: int) -> tuple[str, list[tuple[str, str]]]:
    """One page of ``/positions``."""
    if not positions:
        return "No open positions.", []
    return page(f"{len(positions)} open position(s)", positions_lines(positions), number, "positions")


def positions_lines(positions: list[Position]) -> list[str]:
    """One line per open position, by follower."""
    return [f"{p.follower_id} {p.account}: {held(p)}"
            for p in sorted(positions, key=lambda p: (p.follower_id, p.signal_id or ""))]


def held(position: Position) -> str:
    """A position's open legs (and its assignment state when there is one)."""
    legs = ", ".join(f"{leg.qty:+d} {leg.symbol}{' ' + str(leg.right) + str(leg.strike) if leg.strike else ''}"
                     for leg in position.legs if leg.qty)
    return legs + (f" ({position.assignment})" if position.assignment != "NONE" else "")


def pnl_text(snapshots: list[PnLSnapshot], dailies: list[DailyPnL], follower_id: str | None) -> str:
    """Latest mark-to-market per follower (and the closing daily P&L once computed), every line."""
    return pnl_page(snapshots, dailies, follower_id, 1, every_line=True)[0]


def pnl_page(snapshots: list[PnLSnapshot], dailies: list[DailyPnL], follower_id: str | None, number: int,
             every_line: bool = False) -> tuple[str, list[tuple[str, str]]]:
    """One page of ``/pnl``: the total first, then a line per follower (``every_line``: one page of all)."""
    if not snapshots and not dailies:
        return f"No P&L yet today{' for ' + follower_id if follower_id else ''}.", []
    head = f"Total: day {money(sum((s.daily_pnl for s in snapshots), Decimal(0)))}" if len(snapshots) > 1 else ""
    lines = [
        f"{snap.follower_id}: day {money(snap.daily_pnl)} (unrealised {money(snap.unrealized_pnl)},"
        f" realised {money(snap.realized_pnl)}) at {new_york(snap.at):%H:%M:%S} ET"
        for snap in sorted(snapshots, key=lambda s: s.follower_id)
    ]
    lines += [f"{daily.follower_id} {daily.date} closed: realised {money(daily.realized_pnl)}, {daily.trades} "
              "trade(s)" for daily in sorted(dailies, key=lambda d: d.follower_id)]
    if every_line:
        return "\n".join([head, *lines] if head else lines), []
    return page(head, lines, number, "pnl")


def alerts_text(alerts: list[OpenAlert], now: datetime) -> str:
    """The newest unacknowledged alerts, each with the id ``/ack`` takes."""
    if not alerts:
        return "No open alerts: every recent alert is acknowledged."
    lines = [f"{len(alerts)} newest alert(s) nobody acknowledged (/ack ID):"]
    for alert in alerts:
        repeats = f" ×{alert.count}" if alert.count > 1 else ""
        who = f" {alert.follower_id}" if alert.follower_id else ""
        lines.append(f"{alert.severity} {alert.type}{who}{repeats}, {_age(now, alert.at)} ago: "
                     f"{alert.message[:160]} [{alert.alert_id}]")
    return "\n".join(lines)


def follower_text(brief: FollowerBrief, paused: str | None, orders: list[OrderIntent], positions: list[Position],
                  snapshots: list[PnLSnapshot]) -> str:
    """One follower: settings, kill switch, today's orders, open position and latest P&L."""
    state = "enabled" if brief.enabled else "DISABLED"
    lines = [f"Follower {brief.id}: {state}, {brief.state}, account {brief.ibkr_account} on gateway "
             f"{brief.gateway_id or '(none)'}",
             f"Sizing: ×{brief.multiplier}, at most {brief.max_contracts} contract(s); daily-loss limit "
             f"${format_money(brief.daily_loss_limit)}",
             f"Entries: {'PAUSED for ' + paused if paused else 'allowed'}"]
    if not orders:
        lines.append("Orders today: none")
    for intent in sorted(orders, key=lambda i: i.created_at):
        price = f" at {intent.avg_price}" if intent.avg_price is not None else ""
        reason = f" ({intent.reason})" if intent.reason else ""
        lines.append(f"Order {intent.kind} {intent.state}: {intent.filled_qty}/{intent.contracts}{price}{reason}"[:300])
    lines.append("Position: " + ("; ".join(held(p) for p in positions) if positions else "none"))
    lines.extend(pnl_text(snapshots, [], brief.id).splitlines())
    return "\n".join(lines)
