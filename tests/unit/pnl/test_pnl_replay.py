"""``make pnl-replay``: six months of one follower's ledger replayed offline through the real rollups."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pnl.invoices import InvoiceStatus
from pnl.replay import LedgerFileError, main, parse_ledger, replay

SHORT, LONG, STOCK = 101, 102, 320227571
_n = iter(range(1, 10_000))


def _fill(day: str, side: str, qty: int, price: str, con_id: int, strike: str | None, *, hhmm: str = "09:31",
          commission: str = "0.65", exec_id: str | None = None, recorded_at: str | None = None) -> dict[str, object]:
    option = strike is not None
    record: dict[str, object] = {
        "type": "fill", "exec_id": exec_id or f"0000{next(_n):04x}.65f1a2b3.01.01", "order_ref": f"entry-{day}-f01",
        "follower_id": "f01", "account": "DU001", "con_id": con_id, "sec_type": "OPT" if option else "STK",
        "side": side, "qty": qty, "price": price, "commission": str(Decimal(commission) * (qty if option else 1)),
        "at": f"{day}T{hhmm}:00-05:00" if day < "2026-03-08" else f"{day}T{hhmm}:00-04:00"}
    if option:
        record |= {"right": "P", "strike": strike, "expiry": day}
    if recorded_at:
        record["recorded_at"] = recorded_at
    return record


def _offset(day: str) -> str:
    return "-05:00" if day < "2026-03-08" else "-04:00"


def _settle(day: str, kind: str, side: str, qty: int, con_id: int, strike: str, shares: int,
            hhmm: str = "16:00", closing: str | None = None) -> dict[str, object]:
    at = f"{day}T{hhmm}:00{_offset(day)}"
    return {"type": "settlement", "event_id": f"{kind}-DU001-{con_id}-{day}-{hhmm}", "kind": kind,
            "follower_id": "f01", "account": "DU001", "con_id": con_id, "right": "P", "strike": strike,
            "expiry": day, "side": side, "qty": qty, "shares": shares, "closing_price": closing, "at": at}


def spread(day: str, qty: int, short: str, long_: str) -> list[dict[str, object]]:
    """A 485/480 bull put spread sold at the open ($0.65 a contract a leg)."""
    return [_fill(day, "SLD", qty, short, SHORT, "485"), _fill(day, "BOT", qty, long_, LONG, "480")]


def worthless(day: str, qty: int) -> list[dict[str, object]]:
    return [_settle(day, "expiry", "short", qty, SHORT, "485", 0, closing="490"),
            _settle(day, "expiry", "long", qty, LONG, "480", 0, closing="490")]


def six_months() -> list[str]:
    records: list[dict[str, object]] = [
        {"type": "follower", "id": "f01", "commission_pct": "20", "ibkr_account": "DU001"},
        # January: losses. An in-the-money expiry of both legs (QQQ closes at 478), then a small win.
        *spread("2026-01-13", 1, "1.20", "0.45"),
        _settle("2026-01-13", "expiry", "short", 1, SHORT, "485", 100, closing="478"),
        _settle("2026-01-13", "expiry", "long", 1, LONG, "480", -100, closing="478"),
        *spread("2026-01-20", 1, "1.10", "0.40"), *worthless("2026-01-20", 1),
        # February: a billed month, paid on March 5th.
        *spread("2026-02-10", 2, "1.30", "0.30"), *worthless("2026-02-10", 2),
        *spread("2026-02-17", 2, "1.25", "0.35"), *worthless("2026-02-17", 2),
        _fill("2026-02-24", "SLD", 3, "1.20", SHORT, "485", exec_id="0000feed.65f1a2b3.01.01"),
        _fill("2026-02-24", "BOT", 3, "0.30", LONG, "480"), *worthless("2026-02-24", 3),
        {"type": "paid", "follower_id": "f01", "month": "2026-02", "at": "2026-03-05T10:00:00-05:00"},
        # March: an assignment day (assigned at 13:05, repaired by exercising the long put), then a win.
        *spread("2026-03-10", 1, "1.20", "0.45"),
        _settle("2026-03-10", "assignment", "short", 1, SHORT, "485", 100, hhmm="13:05"),
        _settle("2026-03-10", "exercise", "long", 1, LONG, "480", -100, hhmm="13:06"),
        *spread("2026-03-17", 2, "1.15", "0.35"), *worthless("2026-03-17", 2),
        # April: a recovery that stays below the old high-water mark.
        *spread("2026-04-14", 2, "1.20", "0.40"), *worthless("2026-04-14", 2),
        *spread("2026-04-21", 1, "1.00", "0.30"), *worthless("2026-04-21", 1),
        # May 3rd: IB corrects February 24th's short leg (1.15, not 1.20): the paid February is not changed.
        _fill("2026-02-24", "SLD", 3, "1.15", SHORT, "485", exec_id="0000feed.65f1a2b3.01.02",
              recorded_at="2026-05-03T10:00:00-04:00"),
        # May: new highs; on the 29th the short put expires in the money (QQQ 483): 100 shares held over the month end
        *spread("2026-05-12", 3, "1.30", "0.40"), *worthless("2026-05-12", 3),
        *spread("2026-05-29", 1, "1.20", "0.45"),
        _settle("2026-05-29", "expiry", "short", 1, SHORT, "485", 100, closing="483"),
        _settle("2026-05-29", "expiry", "long", 1, LONG, "480", 0, closing="483"),
        {"type": "reading", "follower_id": "f01", "account": "DU001", "date": "2026-05-29", "phase": "close",
         "at": "2026-05-29T16:20:00-04:00", "realized_pnl": "73.70", "underlying": "483",
         "positions": [{"con_id": STOCK, "sec_type": "STK", "qty": 100, "mark": "483"}]},
        # June: the shares are sold on the 1st; another win.
        _fill("2026-06-01", "SLD", 100, "482.40", STOCK, None, hhmm="09:35", commission="1.00"),
        *spread("2026-06-09", 2, "1.20", "0.40"), *worthless("2026-06-09", 2),
    ]
    return [json.dumps(r) for r in records]


def test_six_months_of_losses_billing_recovery_assignment_payment_and_a_later_correction() -> None:
    """The months, derived by hand (20% of the gain above the high-water mark; $0.65 a contract a leg):

    Jan  ITM expiry of both legs 120 − 45 − 500 − 1.30 = −426.30; then 70 − 1.30 = 68.70.    net −357.60
         equity −357.60, mark 0: nothing billed.
    Feb  200 − 2.60 = 197.40; 180 − 2.60 = 177.40; (1.20 − 0.30) x 300 − 3.90 = 266.10.       net  640.90
         equity 283.30 over the mark of 0: 20% x 283.30 = 56.66, invoiced, paid on March 5th. Mark 283.30.
    Mar  assignment day −426.30; 160 − 2.60 = 157.40.                                          net −268.90
         equity 14.40 under the mark: nothing.
    Apr  157.40 + 68.70 = 226.10: equity 240.50, a recovery still under the mark of 283.30: nothing.
    May 3rd, the correction: February 24th's short put sold at 1.15: that day is 251.10, February 625.90, its
         equity 268.30 and mark 268.30: its commission is now 53.66 (paid: 56.66). March ends at −0.60, April at
         225.50, still under the mark: nothing. The paid invoice stays; −3.00 waits for the next invoice.
    May  266.10 realized + 73.70 realized (the short put assigned by exception: +120 − 45 − 1.30), and the 100
         shares bought at 485 are worth 483 at the close: −200 of open value. Net 139.80: equity 365.30,
         billable 365.30 − 268.30 = 97.00: 19.40, less the February credit of 3.00: the May invoice is 16.40.
    Jun  the shares sold at 482.40: −260 − 1.00 = −261.00 realized, +200 open value back; 157.40.
         net −61.00 + 157.40 = 96.40: equity 461.70, billable 96.40: 19.28.
    """
    result = replay(parse_ledger(six_months()))

    months = {m.month: m for m in result.records.monthly_docs.values()}
    assert [(m, months[m].net_pnl, months[m].equity_after, months[m].hwm_after, months[m].commission)
            for m in sorted(months)] == [
        ("2026-01", Decimal("-357.60"), Decimal("-357.60"), Decimal(0), Decimal("0.00")),
        ("2026-02", Decimal("625.90"), Decimal("268.30"), Decimal("268.30"), Decimal("53.66")),
        ("2026-03", Decimal("-268.90"), Decimal("-0.60"), Decimal("268.30"), Decimal("0.00")),
        ("2026-04", Decimal("226.10"), Decimal("225.50"), Decimal("268.30"), Decimal("0.00")),
        ("2026-05", Decimal("139.80"), Decimal("365.30"), Decimal("365.30"), Decimal("19.40")),
        ("2026-06", Decimal("96.40"), Decimal("461.70"), Decimal("461.70"), Decimal("19.28")),
    ]
    assert (months["2026-05"].realized_pnl, months["2026-05"].unrealized_change) == (Decimal("339.80"),
                                                                                     Decimal("-200.00"))
    invoices = {i.month: i for i in result.records.invoices.values()}
    assert sorted(invoices) == ["2026-02", "2026-05", "2026-06"]
    assert (invoices["2026-02"].amount, invoices["2026-02"].status) == (Decimal("56.66"), InvoiceStatus.PAID)
    may = invoices["2026-05"]
    assert (may.commission, may.amount, may.status) == (Decimal("19.40"), Decimal("16.40"), InvoiceStatus.UNPAID)
    assert [(a.month, a.amount) for a in may.adjustments] == [("2026-02", Decimal("-3.00"))]
    assert (invoices["2026-06"].amount, invoices["2026-06"].adjustments) == (Decimal("19.28"), ())
    days = {d.date: d for d in result.records.daily_docs.values()}
    assert days[date(2026, 1, 13)].realized_pnl == Decimal("-426.30")
    assert days[date(2026, 3, 10)].realized_pnl == Decimal("-426.30")
    assert days[date(2026, 2, 24)].realized_pnl == Decimal("251.10")
    assert days[date(2026, 5, 29)].reconciliation == "reconciled"
    assert [day for _, day in result.corrections] == [date(2026, 2, 24)]


def test_the_replay_command_prints_the_days_months_and_invoices(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text("\n".join(six_months()) + "\n", encoding="utf-8")

    assert main([str(ledger)]) == 0

    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["f01", "2026-05", "19.40", "-3.00", "16.40", "unpaid"] in rows  # the invoice with its adjustment
    assert ["f01", "2026-05", "339.80", "-200.00", "139.80", "365.30", "365.30", "97.00", "20%", "19.40"] in rows
    assert ["f01", "2026-01-13", "-426.30", "1.30", "0.00", "unchecked"] in rows
    assert ["Corrections", "re-run:", "2026-02-24", "at", "2026-05-03", "10:00"] in rows


def test_a_malformed_ledger_line_is_refused_with_its_line_number() -> None:
    with pytest.raises(LedgerFileError, match="line 2"):
        parse_ledger([json.dumps({"type": "follower", "id": "f01", "commission_pct": "20"}), '{"type": "trade"}'])


def test_the_example_in_the_readme_is_a_valid_ledger_file() -> None:
    readme = (Path(__file__).resolve().parents[3] / "functions" / "pnl" / "README.md").read_text(encoding="utf-8")
    example = readme.split("```json\n", 1)[1].split("```", 1)[0].splitlines()

    result = replay(parse_ledger(example))

    day = result.records.daily_docs["f01:2026-03-17"]
    assert (day.realized_pnl, day.unrealized_pnl) == (Decimal("119.35"), Decimal(0))  # the stock is unmarked
    assert "f01:2026-04-30" in result.records.daily_docs  # the shares stay open: a day every trading day after
    assert [(lot.key, lot.qty, lot.price) for lot in result.records.lots[("f01", day.date)]] == [
        ("STK:QQQ", 100, Decimal(485))]
