"""The rollups' Firestore adapter on the emulator: what it writes reads back the same."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from google.cloud import firestore

from pnl.invoices import Invoice
from pnl.lots import OpenLot
from pnl.records import FirestoreRecords, InvoiceOutcome
from spreadpilot.clock import NEW_YORK
from spreadpilot.ledger import BROKER_READINGS, SETTLEMENTS, BrokerReading, HeldLine, SettlementEvent, SettlementKind
from spreadpilot.models import DailyPnL, Follower, IntentKind, OrderIntent, Right, Spread, Strategy
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
    stock = OpenLot(key="STK:QQQ", con_id=320227571, qty=100, price=Decimal("485.0125"), sec_type="STK", mult=1,
                    opened=friday, mark=Decimal("483.10"))

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


def test_settlements_readings_rates_and_invoices_read_back(
    clean_stack: LocalStack, firestore_db: firestore.Client
) -> None:
    records = FirestoreRecords(Store(firestore_db))
    day = date(2026, 3, 17)
    at = datetime(2026, 3, 17, 16, 0, tzinfo=NEW_YORK)
    event = SettlementEvent(event_id="expiry-DU001-101-20260317", kind=SettlementKind.EXPIRY, follower_id="f01",
                            account="DU001", con_id=101, right=Right.PUT, strike=Decimal(485), expiry=day,
                            side="short", qty=2, shares=200, closing_price=Decimal("483.00"), at=at, recorded_at=at)
    firestore_db.document(f"{SETTLEMENTS}/{event.event_id}").set(event.to_doc())
    close = BrokerReading(follower_id="f01", account="DU001", date=day, phase="close", at=at,
                          realized_pnl=Decimal("-426.30"),
                          positions=(HeldLine(con_id=9, sec_type="STK", qty=200, mark=Decimal("483")),))
    firestore_db.document(f"{BROKER_READINGS}/{close.doc_id}").set(close.to_doc())
    invoice = Invoice(follower_id="f01", month="2026-03", iban="DE89370400440532013000", commission=Decimal("60.00"),
                      amount=Decimal("60.00"), currency="USD", payment_reference="SP-202603-f01", created_at=at)

    assert records.settlements_between(at - timedelta(hours=1), at + timedelta(hours=1)) == [event]
    assert records.readings(day, ["f01", "f02"]) == {"f01": {"close": close}}
    assert records.rates("2026-03", {"f01": Decimal(20)}, at) == {"f01": Decimal(20)}
    assert records.rates("2026-03", {"f01": Decimal(30)}, at) == {"f01": Decimal(20)}  # the first one stays
    assert records.put_invoice(invoice) is InvoiceOutcome.CREATED
    firestore_db.document("invoices/f01:2026-03").update({"status": "paid"})
    corrected = invoice.model_copy(update={"amount": Decimal("80.00"), "commission": Decimal("80.00")})
    assert records.put_invoice(corrected) is InvoiceOutcome.KEPT_PAID
    assert records.invoices_of("f01")["2026-03"].amount == Decimal("60.00")


def test_the_loss_breaker_pauses_entries_in_the_kill_switch_document_keeping_its_other_fields(
        clean_stack: LocalStack, firestore_db: firestore.Client) -> None:
    firestore_db.collection("controls").document("f01").set({"entries_paused": False, "note": "vip"})
    at = datetime(2026, 3, 18, 16, 31, tzinfo=NEW_YORK)
    FirestoreRecords(Store(firestore_db)).pause_entries("f01", reason="3 losing trades in a row", by="breaker", at=at)
    doc = firestore_db.collection("controls").document("f01").get().to_dict()
    assert doc == {"entries_paused": True, "reason": "3 losing trades in a row", "updated_by": "breaker",
                   "updated_at": at.isoformat(), "note": "vip"}


def test_one_followers_days_in_a_range_are_read_without_the_others(
        clean_stack: LocalStack, firestore_db: firestore.Client) -> None:
    store = Store(firestore_db)
    at = datetime(2026, 3, 18, 16, 30, tzinfo=NEW_YORK)
    for fid, day in (("f01", 16), ("f01", 18), ("f02", 17), ("f01", 20)):
        store.daily_pnl.put(DailyPnL(follower_id=fid, date=date(2026, 3, day), realized_pnl=Decimal(-1),
                                     commissions=Decimal(0), closing_mtm=Decimal(0), best_mtm=Decimal(0),
                                     worst_mtm=Decimal(0), trades=1, computed_at=at))
    found = FirestoreRecords(store).daily_of("f01", date(2026, 3, 16), date(2026, 3, 19))
    assert sorted((d.follower_id, d.date.day) for d in found) == [("f01", 16), ("f01", 18)]


def test_the_days_entries_are_read_as_the_executor_stores_them_exits_and_other_days_and_bad_documents_left_out(
    clean_stack: LocalStack, firestore_db: firestore.Client
) -> None:
    day, at = date(2026, 3, 17), datetime(2026, 3, 17, 9, 31, tzinfo=NEW_YORK)
    spread = Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485), long_strike=Decimal(480))

    def intent(fid: str, kind: IntentKind = IntentKind.ENTRY, expiry: date = day) -> OrderIntent:
        return OrderIntent(intent_id=f"{kind}-x-{fid}", kind=kind, signal_id="x", follower_id=fid, gateway_id="gw",
                           account="DU1", spread=spread, expiry=expiry, contracts=1, created_at=at, updated_at=at)

    orders = firestore_db.collection("orders")
    for i in (intent("f01"), intent("f02"), intent("f01", IntentKind.EXIT), intent("f03", expiry=date(2026, 3, 18))):
        orders.document(i.intent_id).set({**i.to_doc(), "lease_epoch": 3})  # the executor keeps its epoch beside it
    orders.document("entry-x-f04").set({"kind": "entry", "expiry": "2026-03-17", "follower_id": "f04"})

    found = FirestoreRecords(Store(firestore_db)).entries_of(day)

    assert sorted(i.intent_id for i in found) == ["entry-x-f01", "entry-x-f02"]
