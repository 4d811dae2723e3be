"""What the person running ``make demo`` sees: a live panel during the day and a final table."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table

from demo.stages import FAILED, NOT_BUILT, OK, RUNNING, Stage

STATUS_STYLE = {OK: "green", RUNNING: "cyan", FAILED: "bold red", NOT_BUILT: "yellow", "idle": "dim"}


def stage_table(stages: dict[str, Stage]) -> Table:
    """One line per stage with its status."""
    table = Table(show_header=True, header_style="bold", expand=True)
    table.add_column("stage")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    for stage in stages.values():
        style = STATUS_STYLE.get(stage.status, "")
        detail = stage.detail.splitlines()[0] if stage.detail else ""
        table.add_row(stage.title, f"[{style}]{stage.status}[/]", detail[:90])
    return table


def live_panel(
    sim_time: str, progress: float, counters: dict[str, Any], stages: dict[str, Stage], recent: list[str]
) -> Panel:
    """The panel refreshed while the simulated day plays."""
    bar_width = 40
    filled = int(progress * bar_width)
    bar = "█" * filled + "░" * (bar_width - filled)
    states = counters.get("order_states", Counter())
    order_text = ", ".join(f"{k} {v}" for k, v in sorted(states.items())) or "none"
    lines = [
        f"[bold]{sim_time} ET[/]  {bar} {progress:4.0%}",
        f"signals {counters.get('signals', 0)}   orders {sum(states.values())} ({order_text})   "
        f"fills {counters.get('fills', 0)}   alerts {counters.get('alerts', 0)}   "
        f"emails {counters.get('emails', 0)}   telegram {counters.get('telegram', 0)}",
    ]
    if recent:
        lines.append("recent: " + " · ".join(recent[-4:]))
    return Panel(Group(*lines, stage_table(stages)), title="SpreadPilot demo day", border_style="blue")


def final_table(summary: dict[str, Any]) -> Table:
    """Per follower: the entry order, its fill, and the day's P&L."""
    pnl = {d.get("follower_id"): d for d in summary.get("daily_pnl", [])}
    table = Table(title=f"{summary['scenario']} — {summary['date']} — {summary['followers']} followers")
    for column in ("follower", "order", "status", "filled", "credit", "at broker", "day P&L", "reason"):
        table.add_column(column)
    orders = [o for o in summary.get("orders", []) if o.get("kind") == "entry"]
    for order in orders:
        day = pnl.get(order["follower_id"], {})
        table.add_row(
            str(order["follower_id"]),
            str(order["order_ref"])[-24:],
            str(order["status"]),
            f"{order.get('filled_qty', 0)}/{order.get('contracts') or 0}",
            str(order.get("avg_price") or ""),
            str(order.get("broker_orders", "")),
            str(day.get("realized_pnl", "")),
            str(order.get("reason", ""))[:40],
        )
    if not orders:
        table.add_row("—", "no orders", "", "", "", "", "", "")
    return table


def money_table(summary: dict[str, Any]) -> Table:
    """Per day and month: each follower's realized P&L (with its broker check), then each month's commission."""
    table = Table(title="money: days, months, invoices")
    for column in ("when", "follower", "P&L", "broker check", "commission", "invoice"):
        table.add_column(column)
    for day in summary.get("days", []):
        for row in day["followers"]:
            table.add_row(str(day["date"]), str(row["follower_id"]), str(row["realized_pnl"]),
                          str(row["reconciliation"]), "", "")
    invoices = {(i.get("follower_id"), i.get("month")): i for i in summary.get("invoices", [])}
    for month in summary.get("months", []):
        for row in month["followers"]:
            invoice = invoices.get((row["follower_id"], month["month"]), {})
            table.add_row(str(month["month"]), str(row["follower_id"]), str(row["net_pnl"]), "",
                          str(row["commission"]), f"{invoice.get('amount', '')} {invoice.get('status', '')}".strip())
    return table
