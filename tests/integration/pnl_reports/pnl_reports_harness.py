"""The pnl and reports functions served by functions-framework on the local stack, and a seeded month of trading.

Three followers trade March 2026 on two days (an expired spread, an early close, an assignment compensated by
exercising the long leg); the executor's documents (fills, settlement events, MTM snapshots) are written as it
would write them.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from google.cloud import firestore
from openpyxl import load_workbook
from pypdf import PdfReader

from spreadpilot.clock import NEW_YORK
from spreadpilot.ledger import SETTLEMENTS, SettlementEvent, SettlementKind
from spreadpilot.models import Fill, Follower, PnLSnapshot, Right
from spreadpilot.store import Store
from stack import LocalStack
from stack.processes import StackError

MONTH = "2026-03"
DAYS = (date(2026, 3, 17), date(2026, 3, 18))
ADMIN = "admin@spreadpilot.example"
SENDER = "statements@spreadpilot.example"
IBANS = {"f01": "DE89370400440532013000", "f02": "GB82WEST12345698765432", "f03": "NL91ABNA0417164300"}
PCTS = {"f01": "20", "f02": "25", "f03": "30"}
SHORT, LONG, STOCK = 101, 102, 9


def statements_dir(stack: LocalStack) -> Path:
    """Where the reports function writes files during this test session."""
    return stack.state_dir / "statements"


def _serve_once(stack: LocalStack, name: str, env: dict[str, str] | None = None) -> str:
    # Forking a functions-framework server from this process (which runs gRPC threads) now and then loses the
    # child during start-up; the stack then restarts it on the next call. Two more tries, then the error stands.
    for attempt in range(3):
        try:
            return stack.serve_function(name, env)
        except StackError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def serve(stack: LocalStack) -> tuple[str, str]:
    """Serve both functions (once per session) and create their push subscriptions."""
    pnl = _serve_once(stack, "pnl")
    reports = _serve_once(stack, "reports", {
        "SPREADPILOT_STATEMENTS_DIR": str(statements_dir(stack)),
        "SPREADPILOT_STATEMENT_SENDER": SENDER,
        "SPREADPILOT_STATEMENT_ADMIN_COPY": ADMIN,
        "SPREADPILOT_SENDGRID_API_KEY": "SG.local-test-key",
    })
    return pnl, reports


def et(day: date, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=NEW_YORK)


def _fill(fid: str, n: int, at: datetime, con_id: int, side: str, qty: int, price: str, fee: str = "1.05",
          sec_type: str = "OPT") -> Fill:
    option = sec_type == "OPT"
    # IB style: the part before the last period names the execution, the last part is its revision
    return Fill(exec_id=f"{fid}.{at:%m%d}{n:02d}.01", intent_id=f"entry-{at:%Y%m%d}-QQQ-bull_put-5e1f0c2a-{fid}",
                follower_id=fid, account=f"DU{fid[1:]}", con_id=con_id + (1000 * at.day if option else 0),
                sec_type=sec_type, right=Right.PUT if option else None,
                strike=Decimal("485" if con_id == SHORT else "480") if option else None,
                expiry=at.date() if option else None, side=side, qty=qty, price=Decimal(price),
                commission=Decimal(fee), at=at)


def fills_of(fid: str, qty: int) -> list[Fill]:
    """Day 1: the spread opened (it expires worthless). Day 2: opened and closed early, or (f03) assigned."""
    d1, d2 = DAYS
    fills = [_fill(fid, 1, et(d1, 9, 31), SHORT, "SLD", qty, "1.20"), _fill(fid, 2, et(d1, 9, 31), LONG, "BOT", qty,
                                                                              "0.45"),
             _fill(fid, 1, et(d2, 9, 32), SHORT, "SLD", qty, "1.10"), _fill(fid, 2, et(d2, 9, 32), LONG, "BOT", qty,
                                                                              "0.40")]
    if fid != "f03":
        fills += [_fill(fid, 3, et(d2, 14, 0), SHORT, "BOT", qty, "0.35"),
                  _fill(fid, 4, et(d2, 14, 0), LONG, "SLD", qty, "0.10")]
    return fills


def _event(fid: str, kind: SettlementKind, at: datetime, con_id: int, side: str, qty: int, shares: int,
           closing: str | None = None) -> SettlementEvent:
    return SettlementEvent(
        event_id=f"{kind}-DU{fid[1:]}-{con_id + 1000 * at.day}-{at:%H%M}", kind=kind, follower_id=fid,
        account=f"DU{fid[1:]}", con_id=con_id + 1000 * at.day, right=Right.PUT,
        strike=Decimal("485" if con_id == SHORT else "480"), expiry=at.date(), side=side,  # type: ignore[arg-type]
        qty=qty, shares=shares, closing_price=Decimal(closing) if closing else None, at=at, recorded_at=at)


def settlements_of(fid: str, qty: int) -> list[SettlementEvent]:
    """What the executor records: day 1 both legs expire worthless (QQQ closes at 490); day 2 f03's short put is
    assigned at 13:05 (+100 shares per contract at 485) and its long put exercised at 13:06 (−100 at 480)."""
    d1, d2 = DAYS
    events = [_event(fid, SettlementKind.EXPIRY, et(d1, 16, 0), SHORT, "short", qty, 0, "490"),
              _event(fid, SettlementKind.EXPIRY, et(d1, 16, 0), LONG, "long", qty, 0, "490")]
    if fid == "f03":
        events += [_event(fid, SettlementKind.ASSIGNMENT, et(d2, 13, 5), SHORT, "short", qty, 100 * qty),
                   _event(fid, SettlementKind.EXERCISE, et(d2, 13, 6), LONG, "long", qty, -100 * qty)]
    return events


def late_commission(db: firestore.Client, fid: str, day: date, extra: str = "1.00") -> None:
    """A commission report that reaches the ledger after the rollup: the execution's document gets its commission
    (the executor's ledger writes an execution's latest version)."""
    store = Store(db)
    [fill] = [f for f in store.fills.where("follower_id", "==", fid) if f.exec_id == f"{fid}.{day:%m%d}01.01"]
    store.fills.put(fill.model_copy(update={"commission": fill.commission + Decimal(extra)}))


def seed_month(db: firestore.Client) -> None:
    """Followers, their fills and MTM snapshots; f02 starts March under a February loss (HWM 0, equity -100);
    f03 last traded in January (equity 250 under a mark of 400)."""
    store = Store(db)
    for n, fid in enumerate(sorted(IBANS), start=1):
        store.followers.put(Follower(id=fid, name=f"Follower {n}", email=f"{fid}@example.com", iban=IBANS[fid],
                                     commission_pct=Decimal(PCTS[fid]), gateway_id="gw1",
                                     ibkr_account=f"DU{fid[1:]}"))
        for fill in fills_of(fid, qty=n):
            store.fills.create(fill)
        for event in settlements_of(fid, qty=n):
            db.document(f"{SETTLEMENTS}/{event.event_id}").set(event.to_doc())
        for day in DAYS:
            for i, (hh, mm, value) in enumerate([(10, 0, "40"), (12, 30, "-65.5"), (15, 59, "88")]):
                store.pnl_snapshots.create(PnLSnapshot(
                    follower_id=fid, account=f"DU{fid[1:]}", at=et(day, hh, mm, i),
                    daily_pnl=Decimal(value) * n, unrealized_pnl=Decimal(0), realized_pnl=Decimal(0)))
    db.document("monthly_pnl/f02:2026-02").set({
        "follower_id": "f02", "month": "2026-02", "net_pnl": "-100", "best_day": "0", "worst_day": "-100",
        "winning_days": 0, "losing_days": 1, "win_rate": "0", "max_drawdown": "100", "hwm_before": "0",
        "hwm_after": "0", "commission_pct": "25", "commission": "0.00", "computed_at": "2026-03-01T05:10:00Z",
        "equity_before": "0", "equity_after": "-100", "days": 1,
    })
    db.document("monthly_pnl/f03:2026-01").set({
        "follower_id": "f03", "month": "2026-01", "net_pnl": "250", "best_day": "250", "worst_day": "0",
        "winning_days": 1, "losing_days": 0, "win_rate": "1", "max_drawdown": "0", "hwm_before": "400",
        "hwm_after": "400", "commission_pct": "30", "commission": "0.00", "computed_at": "2026-02-01T05:10:00Z",
        "equity_before": "0", "equity_after": "250", "days": 1,
    })


def tick(stack: LocalStack, topic: str, payload: dict[str, str]) -> str:
    """What Cloud Scheduler (or an operator re-running a day) publishes."""
    return stack.pubsub.publish(topic, json.dumps(payload).encode())


def push_again(stack: LocalStack, url: str, topic: str, data: bytes, message_id: str) -> int:
    """POST a push envelope again with the same message id, as Pub/Sub does when it redelivers."""
    envelope = {"message": {"data": base64.b64encode(data).decode(), "messageId": message_id,
                            "publishTime": "2026-04-01T04:10:00Z", "attributes": {}},
                "subscription": f"projects/{stack.project}/subscriptions/reports-push"}
    return requests.post(f"{url}/projects/{stack.project}/topics/{topic}", json=envelope, timeout=60).status_code


def wait_for(what: str, probe: Callable[[], Any], timeout_s: float = 30.0) -> Any:
    """Poll ``probe`` until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def docs(db: firestore.Client, collection: str) -> dict[str, dict[str, Any]]:
    """Every document of a collection by id."""
    return {snap.id: snap.to_dict() or {} for snap in db.collection(collection).stream()}


def attachment(email: dict[str, Any], suffix: str) -> bytes:
    """The decoded attachment of a sink email whose file name ends with ``suffix``."""
    [found] = [a for a in email["payload"]["attachments"] if a["filename"].endswith(suffix)]
    return base64.b64decode(found["content"])


def pdf_text(content: bytes) -> str:
    """A PDF's text, whitespace collapsed."""
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages).split())


def xlsx_values(content: bytes) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    """The Summary sheet as label → value and the Daily sheet's rows."""
    book = load_workbook(io.BytesIO(content))
    summary = {r[0]: r[1] for r in book["Summary"].iter_rows(min_row=2, values_only=True) if r[0]}
    return summary, list(book["Daily"].iter_rows(min_row=2, values_only=True))


def cents(value: object) -> Decimal:
    """A stored Decimal string as shown (half-up to cents)."""
    from decimal import ROUND_HALF_UP

    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
