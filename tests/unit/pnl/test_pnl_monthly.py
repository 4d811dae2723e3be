"""The monthly rollup: figures, HWM across months, invoices, statement requests; re-runs change nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pnl_fixtures import IBAN, MemoryRecords, RecordingPublisher, daily, et, follower

from pnl.invoices import InvoiceStatus
from pnl.monthly import max_drawdown, month_figures, run_monthly
from pnl.settings import PnLSettings
from spreadpilot.envelopes import StatementRequest
from spreadpilot.errors import Retryable
from spreadpilot.models import FollowerState
from spreadpilot.resources import STATEMENT_REQUESTS

NOW = et(date(2026, 4, 1), 0, 10)


def test_month_figures_of_a_mixed_month() -> None:
    days = [daily("f01", date(2026, 3, d), v) for d, v in [(2, "100"), (3, "-50"), (4, "200"), (5, "-300"), (6, "0")]]

    figures = month_figures(days)

    assert figures.net_pnl == Decimal("-50")
    assert (figures.best_day, figures.worst_day) == (Decimal("200"), Decimal("-300"))
    assert (figures.winning_days, figures.losing_days, figures.days) == (2, 2, 5)
    assert figures.win_rate == Decimal("0.5000")
    assert figures.max_drawdown == Decimal("300")  # from the 250 peak down to -50


def test_the_statements_win_rate_counts_trades_and_leaves_out_a_day_without_one() -> None:
    traded = [daily("f01", date(2026, 3, d), v) for d, v in [(2, "100"), (3, "-50")]]
    untraded = daily("f01", date(2026, 3, 4), "-30").model_copy(update={"trades": 0})  # stock sold the day after
    figures = month_figures([*traded, untraded])
    assert figures.win_rate == Decimal("0.5000")  # 1 of 2 trades; counting days it was 1 of 3
    assert (figures.winning_days, figures.losing_days) == (1, 2)  # the days themselves are still counted


def test_drawdown_counts_from_the_start_of_the_month() -> None:
    assert max_drawdown([Decimal("-100"), Decimal("40"), Decimal("-10")]) == Decimal("100")
    assert max_drawdown([Decimal("10"), Decimal("20")]) == Decimal(0)


def test_six_month_sequence_carries_losses_forward_and_bills_only_new_highs(
    records: MemoryRecords, publisher: RecordingPublisher, settings: PnLSettings
) -> None:
    records.follower_docs["f01"] = follower("f01", pct="20")
    nets = {1: ["-600", "-400"], 2: ["-500"], 3: ["500", "300"], 4: ["1200", "-200"], 5: ["300"], 6: ["-200"]}
    for month, values in nets.items():
        for i, value in enumerate(values):
            records.put_daily(daily("f01", date(2026, month, 2 + i), value))

    for month in range(1, 7):
        run_monthly(records, publisher, settings, f"2026-{month:02d}", et(date(2026, month + 1, 1), 0, 10))

    rows = [(s.net_pnl, s.hwm_before, s.hwm_after, s.commission)
            for s in (records.monthly_docs[f"f01:2026-{m:02d}"] for m in range(1, 7))]
    assert rows == [
        (Decimal("-1000"), Decimal(0), Decimal(0), Decimal("0.00")),
        (Decimal("-500"), Decimal(0), Decimal(0), Decimal("0.00")),
        (Decimal("800"), Decimal(0), Decimal(0), Decimal("0.00")),
        (Decimal("1000"), Decimal(0), Decimal("300"), Decimal("60.00")),
        (Decimal("300"), Decimal("300"), Decimal("600"), Decimal("60.00")),
        (Decimal("-200"), Decimal("600"), Decimal("600"), Decimal("0.00")),
    ]
    assert sorted(records.invoices) == ["f01:2026-04", "f01:2026-05"]
    april = records.invoices["f01:2026-04"]
    assert (april.amount, april.iban, april.status) == (Decimal("60.00"), IBAN, InvoiceStatus.UNPAID)
    assert april.payment_reference == "SP-202604-f01"


def test_every_active_follower_and_everyone_who_traded_gets_a_statement_request(
    records: MemoryRecords, publisher: RecordingPublisher, settings: PnLSettings
) -> None:
    for fid in ("f01", "f02"):
        records.follower_docs[fid] = follower(fid)
    records.follower_docs["f03"] = follower("f03").model_copy(update={"enabled": False})
    records.follower_docs["f04"] = follower("f04").model_copy(update={"state": FollowerState.CLOSED})
    records.put_daily(daily("f01", date(2026, 3, 17), "75"))
    records.put_daily(daily("f04", date(2026, 3, 2), "10"))  # traded, then closed the account in March

    run = run_monthly(records, publisher, settings, "2026-03", NOW)

    assert run.statements == ("f01", "f02", "f04")  # f03 is disabled and did not trade
    assert [m.follower_id for t, m in publisher.sent if t == STATEMENT_REQUESTS] == ["f01", "f02", "f04"]
    assert publisher.sent[0] == (
        STATEMENT_REQUESTS, StatementRequest(follower_id="f01", month="2026-03", requested_by="pnl-monthly"))
    quiet = records.monthly_docs["f02:2026-03"]
    assert (quiet.net_pnl, quiet.commission, quiet.winning_days, quiet.losing_days) == (0, 0, 0, 0)


def test_rerunning_a_month_keeps_the_statement_and_the_invoice(
    records: MemoryRecords, publisher: RecordingPublisher, settings: PnLSettings
) -> None:
    records.follower_docs["f01"] = follower("f01", pct="25")
    records.put_daily(daily("f01", date(2026, 3, 17), "400"))
    run_monthly(records, publisher, settings, "2026-03", NOW)
    first = records.monthly_docs["f01:2026-03"]

    run_monthly(records, publisher, settings, "2026-03", et(date(2026, 4, 2), 9, 0))

    assert records.monthly_docs["f01:2026-03"] == first
    assert first.computed_at == NOW
    assert records.invoices["f01:2026-03"].amount == Decimal("100.00")


def test_a_paid_invoice_is_never_changed_by_a_rerun(
    records: MemoryRecords, publisher: RecordingPublisher, settings: PnLSettings
) -> None:
    records.follower_docs["f01"] = follower("f01", pct="25")
    records.put_daily(daily("f01", date(2026, 3, 17), "400"))
    run_monthly(records, publisher, settings, "2026-03", NOW)
    records.invoices["f01:2026-03"] = records.invoices["f01:2026-03"].model_copy(update={"status": InvoiceStatus.PAID})
    records.put_daily(daily("f01", date(2026, 3, 18), "400"))

    run_monthly(records, publisher, settings, "2026-03", et(date(2026, 4, 2), 9, 0))

    assert records.invoices["f01:2026-03"].amount == Decimal("100.00")
    assert records.monthly_docs["f01:2026-03"].commission == Decimal("200.00")


def test_a_losing_month_has_no_invoice(
    records: MemoryRecords, publisher: RecordingPublisher, settings: PnLSettings
) -> None:
    records.follower_docs["f01"] = follower("f01")
    records.put_daily(daily("f01", date(2026, 3, 17), "-250"))

    run_monthly(records, publisher, settings, "2026-03", NOW)

    assert records.monthly_docs["f01:2026-03"].commission == Decimal("0.00")
    assert records.invoices == {}


def test_one_followers_failure_alerts_and_retries_without_stopping_the_others(
    records: MemoryRecords, publisher: RecordingPublisher, settings: PnLSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for fid in ("f01", "f02"):
        records.follower_docs[fid] = follower(fid)
        records.put_daily(daily(fid, date(2026, 3, 17), "100"))
    original = records.put_invoice

    def failing_for_f01(invoice):  # type: ignore[no-untyped-def]
        if invoice.follower_id == "f01":
            raise ValueError("bad document")
        return original(invoice)

    monkeypatch.setattr(records, "put_invoice", failing_for_f01)

    with pytest.raises(Retryable, match="f01"):
        run_monthly(records, publisher, settings, "2026-03", NOW)

    assert "f02:2026-03" in records.invoices
    assert [m.alert.type for t, m in publisher.sent if t == "alerts"] == ["pnl.monthly_failed"]  # type: ignore[union-attr]
