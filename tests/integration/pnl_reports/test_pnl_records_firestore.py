"""The rollups' Firestore adapter on the emulator: what it writes reads back the same."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from google.cloud import firestore

from pnl.lots import OpenLot
from pnl.records import FirestoreRecords
from spreadpilot.clock import NEW_YORK
from spreadpilot.models import DailyPnL, Follower
from spreadpilot.store import Store
from stack import LocalStack


def test_open_positions_stored_with_a_day_read_back_for_the_next_rollup(
    clean_stack: LocalStack, firestore_db: firestore.Client
) -> None:
    records = FirestoreRecords(Store(firestore_db))
    friday = date(2026, 3, 20)
    doc = DailyPnL(follower_id="f01", date=friday, realized_pnl=Decimal("75.00"), commissions=Decimal("2.10"),
                   closing_mtm=Decimal("-120.5"), best_mtm=Decimal("80"), worst_mtm=Decimal("-130"), trades=2,
                   computed_at=datetime(2026, 3, 20, 16, 30, tzinfo=NEW_YORK))
    stock = OpenLot(con_id=320227571, qty=100, avg=Decimal("485.0125"), sec_type="STK", mult=1)

    records.put_daily(doc, (stock,))

    assert records.open_lots_between(date(2026, 3, 16), date(2026, 3, 23)) == {"f01": {friday: (stock,)}}
    assert records.daily(friday, ["f01", "f02"]) == {"f01": doc}
    assert records.daily_between(friday, friday) == [doc]


def test_active_followers_skip_disabled_closed_and_malformed_documents(
    clean_stack: LocalStack, firestore_db: firestore.Client
) -> None:
    store = Store(firestore_db)
    base = {"name": "A", "email": "a@example.com", "iban": "DE89370400440532013000", "commission_pct": "20",
            "gateway_id": "gw1", "ibkr_account": "DU001"}
    for fid, extra in [("f01", {}), ("f02", {"enabled": False}), ("f03", {"state": "closed"})]:
        store.followers.put(Follower.model_validate({"id": fid, **base, **extra}))
    firestore_db.document("followers/f04").set({"id": "f04", "name": "broken", "iban": "not an iban"})

    assert list(FirestoreRecords(store).active_followers()) == ["f01"]
