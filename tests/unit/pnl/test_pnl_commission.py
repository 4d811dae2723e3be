"""High-water-mark commission: only new highs are billed, losses carry forward, a losing month bills nothing."""

from __future__ import annotations

from decimal import Decimal

from pnl.commission import HighWaterMark, after, bill_month


def test_first_profitable_month_bills_the_percentage_of_the_gain() -> None:
    billing = bill_month(HighWaterMark(), Decimal("1000"), Decimal("20"))

    assert billing.commission == Decimal("200.00")
    assert (billing.hwm_before, billing.hwm_after) == (Decimal(0), Decimal("1000"))


def test_losing_month_bills_nothing_and_keeps_the_mark() -> None:
    billing = bill_month(HighWaterMark(equity=Decimal("1000"), hwm=Decimal("1000")), Decimal("-400"), Decimal("20"))

    assert billing.commission == Decimal("0.00")
    assert (billing.equity_after, billing.hwm_after) == (Decimal("600"), Decimal("1000"))


def test_recovery_below_the_mark_bills_nothing() -> None:
    billing = bill_month(HighWaterMark(equity=Decimal("600"), hwm=Decimal("1000")), Decimal("300"), Decimal("20"))

    assert billing.commission == Decimal("0.00")
    assert billing.hwm_after == Decimal("1000")


def test_only_the_part_above_the_mark_is_billed() -> None:
    billing = bill_month(HighWaterMark(equity=Decimal("600"), hwm=Decimal("1000")), Decimal("700"), Decimal("20"))

    assert billing.billable_gain == Decimal("300")
    assert billing.commission == Decimal("60.00")
    assert billing.hwm_after == Decimal("1300")


def test_commission_is_rounded_once_half_up_to_cents() -> None:
    billing = bill_month(HighWaterMark(), Decimal("333.333"), Decimal("17.5"))

    assert billing.commission == Decimal("58.33")  # 58.333275
    assert bill_month(HighWaterMark(), Decimal("0.25"), Decimal("10")).commission == Decimal("0.03")  # 0.025


def test_six_months_of_losses_then_gains_bill_only_new_highs() -> None:
    nets = ["-1000", "-500", "800", "1000", "300", "-200"]
    standing = HighWaterMark()
    billed = []
    for net in nets:
        billing = bill_month(standing, Decimal(net), Decimal("20"))
        billed.append((billing.equity_after, billing.hwm_after, billing.commission))
        standing = after(billing)

    assert billed == [
        (Decimal("-1000"), Decimal(0), Decimal("0.00")),
        (Decimal("-1500"), Decimal(0), Decimal("0.00")),
        (Decimal("-700"), Decimal(0), Decimal("0.00")),  # a gain, but still under water
        (Decimal("300"), Decimal("300"), Decimal("60.00")),  # only the 300 above the old mark
        (Decimal("600"), Decimal("600"), Decimal("60.00")),
        (Decimal("400"), Decimal("600"), Decimal("0.00")),
    ]
