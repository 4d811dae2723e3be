"""Statements for 300 followers: rendering alone (PDF + XLSX), and end to end through the deployed functions.

End to end: the local stack is started, 300 followers with a month of daily P&L and fills are written to the
Firestore emulator, one ``tick-pnl-monthly`` is published, and the clock runs until the sink has received one
statement email per follower (the monthly rollup, 300 statement requests through Pub/Sub pushes, rendering,
storing and sending through the real SendGrid client).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from spreadpilot.clock import NEW_YORK
from spreadpilot.models import DailyPnL, Fill, Follower, MonthlyStatement, Right, mask_iban

FOLLOWERS = 300
MONTH = "2026-03"
E2E_TIMEOUT_S = 240.0
ROOT = Path(__file__).resolve().parents[2]
IBAN = "DE89370400440532013000"


def _trading_days() -> list[date]:
    first = date(2026, 3, 1)
    return [first + timedelta(days=i) for i in range(31) if (first + timedelta(days=i)).weekday() < 5]


def _follower(n: int) -> Follower:
    return Follower(id=f"b{n:03d}", name=f"Bench Follower {n}", email=f"b{n:03d}@example.com", iban=IBAN,
                    commission_pct=Decimal("20"), gateway_id="gw1", ibkr_account=f"DU{n:04d}")


def _days(fid: str, n: int) -> list[DailyPnL]:
    out = []
    for i, day in enumerate(_trading_days()):
        pnl = Decimal((n * 37 + i * 53) % 400 - 150) + Decimal("0.35")
        out.append(DailyPnL(follower_id=fid, date=day, realized_pnl=pnl, commissions=Decimal("4.20"),
                            closing_mtm=pnl, best_mtm=pnl + 40, worst_mtm=pnl - 90, trades=1,
                            computed_at=datetime.combine(day, datetime.min.time(), NEW_YORK) + timedelta(hours=16.5)))
    return out


def _fills(fid: str) -> list[Fill]:
    out = []
    for day in _trading_days():
        at = datetime(day.year, day.month, day.day, 9, 31, tzinfo=NEW_YORK)
        for leg, (side, strike, price) in enumerate([("SLD", "485", "1.20"), ("BOT", "480", "0.45")]):
            out.append(Fill(exec_id=f"{fid}.{day:%m%d}.{leg}", intent_id=f"entry-{day:%Y%m%d}-QQQ-bull_put-0-{fid}",
                            follower_id=fid, account="DU0001", con_id=100 + leg, right=Right.PUT,
                            strike=Decimal(strike), expiry=day, side=side, qty=2, price=Decimal(price),
                            commission=Decimal("1.05"), at=at))
    return out


def _statement(fid: str, days: list[DailyPnL]) -> MonthlyStatement:
    net = sum((d.realized_pnl for d in days), Decimal(0))
    return MonthlyStatement(follower_id=fid, month=MONTH, net_pnl=net, best_day=max(d.realized_pnl for d in days),
                            worst_day=min(d.realized_pnl for d in days), winning_days=10, losing_days=12,
                            win_rate=Decimal("0.4545"), max_drawdown=Decimal("512.30"), hwm_before=Decimal(0),
                            hwm_after=max(net, Decimal(0)), commission_pct=Decimal(20),
                            commission=max(net, Decimal(0)) / 5, computed_at=datetime(2026, 4, 1, tzinfo=NEW_YORK))


def bench_rendering() -> list[dict[str, object]]:
    """Render 300 followers' PDF and XLSX in this process (a month of 22 days and 44 fills each)."""
    from reports.data import StatementData
    from reports.pdf import render_pdf
    from reports.xlsx import render_xlsx

    pdf_s = xlsx_s = 0.0
    size = 0
    cpu_started = time.process_time()
    for n in range(FOLLOWERS):
        follower = _follower(n)
        days = _days(follower.id, n)
        data = StatementData(company="SpreadPilot", follower_id=follower.id, follower_name=follower.name,
                             follower_email=follower.email, iban_masked=mask_iban(follower.iban), month=MONTH,
                             statement=_statement(follower.id, days), days=tuple(days),
                             trades=tuple(_fills(follower.id)), generated_at=datetime(2026, 4, 1, tzinfo=NEW_YORK))
        started = time.perf_counter()
        pdf = render_pdf(data)
        pdf_s += time.perf_counter() - started
        started = time.perf_counter()
        xlsx = render_xlsx(data)
        xlsx_s += time.perf_counter() - started
        size += len(pdf) + len(xlsx)
    cpu_s = time.process_time() - cpu_started
    note = "22 trading days and 44 fills per follower, one process"
    return [
        {"name": "reports.render_300_statements", "value": round(pdf_s + xlsx_s, 2), "unit": "s",
         "note": f"{note}; wall time (CPU time {cpu_s:.1f} s: the difference is other load on the machine)"},
        {"name": "reports.render_pdf_per_follower", "value": round(pdf_s / FOLLOWERS * 1000, 1), "unit": "ms",
         "note": note},
        {"name": "reports.render_xlsx_per_follower", "value": round(xlsx_s / FOLLOWERS * 1000, 1), "unit": "ms",
         "note": f"{note}; PDF+XLSX {size / FOLLOWERS / 1024:.0f} KiB per follower"},
    ]


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _seed(db: Any) -> None:
    from spreadpilot.store import DAILY_PNL, FILLS
    from spreadpilot.store import FOLLOWERS as FOLLOWERS_COLLECTION

    writes: list[tuple[str, str, dict[str, object]]] = []
    for n in range(FOLLOWERS):
        follower = _follower(n)
        writes.append((FOLLOWERS_COLLECTION, follower.id, follower.to_doc()))
        writes += [(DAILY_PNL, f"{d.follower_id}:{d.date}", d.to_doc()) for d in _days(follower.id, n)]
        writes += [(FILLS, f.exec_id, f.to_doc()) for f in _fills(follower.id)]
    for chunk in _chunks(writes, 500):
        batch = db.batch()
        for collection, doc_id, doc in chunk:
            batch.set(db.collection(collection).document(doc_id), doc)
        batch.commit()


def _count(db: Any, collection: str) -> int:
    return int(db.collection(collection).count().get()[0][0].value)


def bench_end_to_end() -> list[dict[str, object]]:
    """Monthly tick → 300 statement emails at the sink, through functions-framework and the emulators."""
    from google.cloud import firestore

    from stack.local_stack import LocalStack
    from stack.processes import StackError

    stack_started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="reports-bench-") as state:
        stack = LocalStack.start(ROOT, state_dir=Path(state), die_with_parent=True)
        stack_s = time.monotonic() - stack_started
        saved: dict[str, str | None] = {}
        try:
            saved.update({key: os.environ.get(key) for key in stack.env})
            os.environ.update(stack.env)  # the official clients find the emulators through these
            db = firestore.Client(project=stack.project)
            seed_started = time.monotonic()
            _seed(db)
            seed_s = time.monotonic() - seed_started
            env = {"SPREADPILOT_STATEMENTS_DIR": str(Path(state) / "statements"),
                   "SPREADPILOT_SENDGRID_API_KEY": "SG.bench"}
            try:
                for name, extra in (("pnl", None), ("reports", env)):
                    for attempt in range(3):  # a server forked from a process running gRPC may die at start-up
                        try:
                            stack.serve_function(name, extra)
                            break
                        except StackError:
                            if attempt == 2:
                                raise
            except StackError as error:
                return [{"name": "reports.e2e_300_statements_emailed", "value": None, "unit": "s",
                         "note": f"not measured: a function did not start on this machine ({str(error)[:200]})"}]
            started = time.monotonic()
            stack.pubsub.publish("tick-pnl-monthly", json.dumps({"job": "pnl-monthly", "month": MONTH}).encode())
            rollup_s = None
            emails = 0
            while time.monotonic() - started < E2E_TIMEOUT_S:
                if rollup_s is None and _count(db, "monthly_pnl") >= FOLLOWERS:
                    rollup_s = time.monotonic() - started
                emails = len(stack.sink.emails())
                if emails >= FOLLOWERS:
                    break
                time.sleep(0.5)
            total_s = time.monotonic() - started
        finally:
            stack.stop()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    done = emails >= FOLLOWERS
    note = f"{emails}/{FOLLOWERS} emails; stack start {stack_s:.1f} s and seeding {seed_s:.1f} s not counted"
    return [
        {"name": "reports.e2e_monthly_rollup_300", "value": round(rollup_s, 1) if rollup_s else None, "unit": "s",
         "note": "tick published → 300 monthly_pnl documents"},
        {"name": "reports.e2e_300_statements_emailed", "value": round(total_s, 1) if done else None, "unit": "s",
         "note": note if done else f"did not finish within {E2E_TIMEOUT_S:.0f} s: {note}"},
    ]


def run() -> list[dict[str, object]]:
    """Rendering alone, then end to end."""
    return bench_rendering() + bench_end_to_end()
