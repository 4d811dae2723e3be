"""Bills that stay right: the fee basis at the month's close, corrections that flow forward, invoices that follow
their month (or, once paid, carry the difference to the next one), effective-dated rates, exact cents."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pnl_fixtures import (
    MemoryRecords,
    RecordingPublisher,
    daily,
    et,
    fill,
    follower,
    reading,
    settle,
    stock_line,
)
from pydantic import ValidationError

from pnl.daily import DailyRun, run_daily
from pnl.invoices import InvoiceStatus
from pnl.monthly import run_monthly
from pnl.settings import PnLSettings
from pnl.tick import Job, Tick, run_tick

FEB, MAR, APR = "2026-02", "2026-03", "2026-04"


def close(records: MemoryRecords, publisher: RecordingPublisher, settings: PnLSettings, month: str,
          *, correction: bool = False) -> None:
    year, mon = (int(p) for p in month.split("-"))
    first_of_next = date(year + mon // 12, mon % 12 + 1, 1)
    run_monthly(records, publisher, settings, month, et(first_of_next, 0, 10), correction=correction)


def test_stock_held_over_a_month_end_is_billed_at_the_close_not_at_cost(
    records: MemoryRecords, publisher: RecordingPublisher, settings: PnLSettings
) -> None:
    """Defect: stock held over a month end was carried at cost, so the month was billed on a gain the close had
    already lost.

    March 31: +120 realized (a short put sold at 1.20, assigned: 100 shares at 485), QQQ closes at 480:
    the shares are worth −500 against their cost. Fee basis 120 − 500 = −380: nothing to bill (not 20% of 120).
    April 1: the shares are sold at 481: −400 realized, +500 back from the March close: April's basis is +100.
    """
    records.follower_docs["f01"] = follower("f01", pct="20")
    mar31, apr1 = date(2026, 3, 31), date(2026, 4, 1)
    records.fills = [fill(et(mar31, 9, 31), "SLD", 1, "1.20", con_id=1),
                     fill(et(apr1, 9, 35), "SLD", 100, "481", con_id=9, sec_type="STK")]
    records.settlements = [settle(et(mar31, 13, 5), "assignment", "short", 1, con_id=1, strike="485")]
    records.add_reading(reading(mar31, "close", positions=(stock_line(100, "480"),)))
    run_daily(records, publisher, mar31, et(mar31, 16, 30))
    run_daily(records, publisher, apr1, et(apr1, 16, 30))

    close(records, publisher, settings, MAR)
    close(records, publisher, settings, APR)

    march, april = records.monthly_docs[f"f01:{MAR}"], records.monthly_docs[f"f01:{APR}"]
    assert (march.realized_pnl, march.unrealized_change, march.net_pnl) == (
        Decimal("120.00"), Decimal("-500.00"), Decimal("-380.00"))
    assert march.commission == Decimal("0.00")
    assert (april.realized_pnl, april.unrealized_change, april.net_pnl) == (
        Decimal("-400.00"), Decimal("500.00"), Decimal("100.00"))
    assert april.commission == Decimal("0.00")  # equity -280: still under the mark of 0
    assert records.invoices == {}


def test_a_month_corrected_down_to_zero_voids_its_unpaid_invoice(
    records: MemoryRecords, publisher: RecordingPublisher, settings: PnLSettings
) -> None:
    """Defect: a month re-run down to 0 commission left the old unpaid invoice standing."""
    records.follower_docs["f01"] = follower("f01", pct="20")
    records.put_daily(daily("f01", date(2026, 3, 17), "300"))
    close(records, publisher, settings, MAR)
    assert records.invoices[f"f01:{MAR}"].amount == Decimal("60.00")

    records.put_daily(daily("f01", date(2026, 3, 17), "-50"))  # the day, corrected
    close(records, publisher, settings, MAR, correction=True)

    invoice = records.invoices[f"f01:{MAR}"]
    assert (invoice.status, invoice.amount) == (InvoiceStatus.VOID, Decimal(0))


def test_a_correction_after_the_invoice_was_paid_bills_the_difference_on_the_next_invoice(
    records: MemoryRecords, publisher: RecordingPublisher, settings: PnLSettings
) -> None:
    """Defect: a re-run after an invoice was paid never billed the difference.

    March +300 at 20%: 60.00, paid. Correction: March was +400 (80.00): the paid invoice stays 60.00 and April's
    invoice carries +20.00 on top of April's own 20% x 100 = 20.00: 40.00.
    """
    records.follower_docs["f01"] = follower("f01", pct="20")
    records.put_daily(daily("f01", date(2026, 3, 17), "300"))
    records.put_daily(daily("f01", date(2026, 4, 14), "100"))
    close(records, publisher, settings, MAR)
    records.mark_paid("f01", MAR)
    close(records, publisher, settings, APR)
    assert records.invoices[f"f01:{APR}"].amount == Decimal("20.00")

    records.put_daily(daily("f01", date(2026, 3, 18), "100"))  # a late fill found for March
    close(records, publisher, settings, MAR, correction=True)

    march, april = records.invoices[f"f01:{MAR}"], records.invoices[f"f01:{APR}"]
    assert (march.status, march.amount) == (InvoiceStatus.PAID, Decimal("60.00"))
    assert records.monthly_docs[f"f01:{MAR}"].commission == Decimal("80.00")
    assert (april.commission, april.amount) == (Decimal("20.00"), Decimal("40.00"))
    assert [(a.month, a.amount) for a in april.adjustments] == [(MAR, Decimal("20.00"))]


def test_a_paid_month_corrected_down_gives_a_credit_on_the_next_invoice(
    records: MemoryRecords, publisher: RecordingPublisher, settings: PnLSettings
) -> None:
    records.follower_docs["f01"] = follower("f01", pct="20")
    records.put_daily(daily("f01", date(2026, 3, 17), "300"))
    close(records, publisher, settings, MAR)
    records.mark_paid("f01", MAR)
    records.put_daily(daily("f01", date(2026, 3, 17), "100"))  # March was only +100: 20.00, paid 60.00

    close(records, publisher, settings, MAR, correction=True)
    close(records, publisher, settings, APR)  # a quiet April: nothing of its own to bill

    april = records.invoices[f"f01:{APR}"]
    assert (april.commission, april.amount, april.credit_note) == (Decimal("0.00"), Decimal("-40.00"), True)


def test_correcting_february_flows_into_march(
    records: MemoryRecords, publisher: RecordingPublisher, settings: PnLSettings
) -> None:
    """Defect: correcting February did not flow into March (billed 60.00 instead of 20.00).

    February −200, March +500 at 20%: March ends at equity 300 over a mark of 0: 60.00. February was really −400:
    March ends at 100 over the mark of 0: 20.00; the unpaid March invoice follows.
    """
    records.follower_docs["f01"] = follower("f01", pct="20")
    records.put_daily(daily("f01", date(2026, 2, 17), "-200"))
    records.put_daily(daily("f01", date(2026, 3, 17), "500"))
    close(records, publisher, settings, FEB)
    close(records, publisher, settings, MAR)
    assert records.invoices[f"f01:{MAR}"].amount == Decimal("60.00")

    records.put_daily(daily("f01", date(2026, 2, 17), "-400"))
    close(records, publisher, settings, FEB, correction=True)

    assert records.monthly_docs[f"f01:{MAR}"].commission == Decimal("20.00")
    assert records.invoices[f"f01:{MAR}"].amount == Decimal("20.00")


def test_a_corrected_day_reruns_every_later_day_and_closed_month(
    records: MemoryRecords, publisher: RecordingPublisher, settings: PnLSettings
) -> None:
    """An operator's re-run of a past day (a tick with a date) carries the corrected lots forward."""
    records.follower_docs["f01"] = follower("f01", pct="20")
    mar30, mar31 = date(2026, 3, 30), date(2026, 3, 31)
    records.fills = [fill(et(mar31, 10, 0), "SLD", 100, "486", con_id=9, sec_type="STK")]
    run_daily(records, publisher, mar30, et(mar30, 16, 30))
    run_daily(records, publisher, mar31, et(mar31, 16, 30))
    close(records, publisher, settings, MAR)
    # found later: the shares sold on the 31st were assigned on the 30th at 485 (and the put sold at 1.20)
    records.fills.append(fill(et(mar30, 9, 31), "SLD", 1, "1.20", con_id=1))
    records.settlements = [settle(et(mar30, 13, 5), "assignment", "short", 1, con_id=1, strike="485")]

    run = run_tick(Tick(job=Job.DAILY, date=mar30), records, publisher, settings, et(date(2026, 4, 2), 9, 0))

    assert isinstance(run, DailyRun)
    assert run.cascaded == (mar31,)
    assert records.daily_docs[f"f01:{mar30}"].realized_pnl == Decimal("120.00")
    assert records.daily_docs[f"f01:{mar31}"].realized_pnl == Decimal("100.00")  # (486 - 485) x 100, no short lot
    assert records.lots[("f01", mar31)] == ()
    assert records.monthly_docs[f"f01:{MAR}"].net_pnl == Decimal("220.00")
    assert records.invoices[f"f01:{MAR}"].amount == Decimal("44.00")


def test_a_rate_change_applies_from_the_next_month_and_never_on_rerun(
    records: MemoryRecords, publisher: RecordingPublisher, settings: PnLSettings
) -> None:
    """Defect: a rate change applied retroactively on re-run (IBKR's advisor fees never are)."""
    records.follower_docs["f01"] = follower("f01", pct="20")
    records.put_daily(daily("f01", date(2026, 3, 17), "100"))
    close(records, publisher, settings, MAR)
    records.follower_docs["f01"] = follower("f01", pct="30")  # changed on April 10th
    records.put_daily(daily("f01", date(2026, 4, 14), "100"))
    records.put_daily(daily("f01", date(2026, 3, 18), "100"))  # a correction of March

    close(records, publisher, settings, MAR, correction=True)
    close(records, publisher, settings, APR)

    march, april = records.monthly_docs[f"f01:{MAR}"], records.monthly_docs[f"f01:{APR}"]
    assert (march.commission_pct, march.commission) == (Decimal(20), Decimal("40.00"))
    assert (april.commission_pct, april.commission) == (Decimal(20), Decimal("20.00"))  # April was fixed on Apr 1
    records.put_daily(daily("f01", date(2026, 5, 12), "100"))
    close(records, publisher, settings, "2026-05")
    assert records.monthly_docs["f01:2026-05"].commission_pct == Decimal(30)


def test_an_invoice_currency_other_than_the_accounts_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Defect: the invoice currency setting relabelled a USD amount as EUR."""
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "spreadpilot-test")
    monkeypatch.setenv("SPREADPILOT_INVOICE_CURRENCY", "EUR")

    with pytest.raises(ValidationError, match="FX rate"):
        PnLSettings()


def test_the_commission_of_a_month_with_a_flat_round_trip_is_billed_on_exact_cents(
    records: MemoryRecords, publisher: RecordingPublisher, settings: PnLSettings
) -> None:
    """Defect: the −1E-25 residue of a flat round trip made 25% of 59.02 come out 14.75 instead of 14.76."""
    records.follower_docs["f01"] = follower("f01", pct="25")
    day1, day2 = date(2026, 3, 17), date(2026, 3, 18)
    later = date(2026, 3, 27)
    records.fills = [fill(et(day1, 10, 0), "BOT", 1, "1.00", expiry=later),
                     fill(et(day1, 10, 1), "BOT", 2, "1.01", expiry=later),
                     fill(et(day1, 11, 0), "SLD", 1, "1.00", expiry=later),
                     fill(et(day1, 11, 1), "SLD", 2, "1.01", expiry=later),
                     fill(et(day2, 10, 0), "SLD", 1, "0.5902", con_id=5, expiry=later),
                     fill(et(day2, 11, 0), "BOT", 1, "0.0000", con_id=5, expiry=later)]
    run_daily(records, publisher, day1, et(day1, 16, 30))
    run_daily(records, publisher, day2, et(day2, 16, 30))

    close(records, publisher, settings, MAR)

    statement = records.monthly_docs[f"f01:{MAR}"]
    assert (statement.net_pnl, statement.winning_days, statement.losing_days) == (Decimal("59.02"), 1, 0)
    assert statement.commission == Decimal("14.76")  # 14.755, half up
