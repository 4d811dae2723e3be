from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from deadman.ports import Heartbeat
from deadman.settings import WatchdogSettings
from deadman.tick import run_tick
from spreadpilot.clock import NEW_YORK
from spreadpilot.models import (
    Alert,
    IntentKind,
    IntentState,
    OrderIntent,
    Severity,
    Signal,
    Spread,
    Strategy,
    make_intent_id,
    make_signal_id,
)

DAY = date(2026, 3, 17)  # a Tuesday
SPREAD = Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485), long_strike=Decimal(480))
SIGNAL = Signal(signal_id=make_signal_id(DAY, "QQQ", SPREAD, 2), date=DAY, ticker="QQQ", spread=SPREAD,
                qty_per_leg=2, detected_at=datetime(2026, 3, 17, 13, 28, tzinfo=UTC))
SETTINGS = WatchdogSettings.model_validate({"GOOGLE_CLOUD_PROJECT": "test"})


def ny(hhmm: str, day: date = DAY) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), NEW_YORK).astimezone(UTC)


def beat(at: datetime, **gateways: dict[str, object]) -> Heartbeat:
    return Heartbeat.model_validate({"at": at, "gateways": gateways})


def intent(follower: str, state: IntentState, kind: IntentKind = IntentKind.ENTRY) -> OrderIntent:
    at = ny("09:31")
    return OrderIntent(intent_id=make_intent_id(SIGNAL.signal_id, follower, kind), kind=kind,
                       signal_id=SIGNAL.signal_id, follower_id=follower, gateway_id="gw1", account="DU001",
                       spread=SPREAD, expiry=DAY, contracts=2, state=state, created_at=at, updated_at=at)


class World:
    """What Firestore holds, as the watchdog reads it."""

    def __init__(self, heartbeat: Heartbeat | None, signals: list[Signal] | None = None,
                 orders: list[OrderIntent] | None = None) -> None:
        self.beat = heartbeat
        self.signals = signals or []
        self.orders = orders or []
        self.ticks: list[tuple[datetime, list[str]]] = []

    def heartbeat(self) -> Heartbeat | None:
        return self.beat

    def signals_on(self, day: date) -> list[Signal]:
        return [s for s in self.signals if s.date == day]

    def orders_for(self, signal_id: str) -> list[OrderIntent]:
        return [o for o in self.orders if o.signal_id == signal_id]

    def record_tick(self, at: datetime, raised: list[str]) -> None:
        self.ticks.append((at, raised))


class Outbox:
    def __init__(self) -> None:
        self.published: dict[str, Alert] = {}

    def raise_once(self, alert: Alert) -> bool:
        if alert.alert_id in self.published:
            return False
        self.published[alert.alert_id] = alert
        return True


def tick(now: datetime, world: World, outbox: Outbox | None = None) -> list[Alert]:
    return run_tick(now, world, outbox or Outbox(), world, SETTINGS)


def healthy(now: datetime) -> World:
    return World(beat(now - timedelta(seconds=5), gw1={"connected": True, "since": ny("09:00")}), [SIGNAL],
                 [intent("f01", IntentState.FILLED), intent("f02", IntentState.SKIPPED)])


def test_quiet_when_all_is_well() -> None:
    for hhmm in ("09:26", "09:40", "10:36", "15:59"):
        assert tick(ny(hhmm), healthy(ny(hhmm))) == []


def test_a_stale_heartbeat_is_critical() -> None:
    now = ny("10:00")
    [alert] = tick(now, World(beat(now - timedelta(seconds=61)), [SIGNAL]))
    assert (alert.type, alert.severity, alert.source) == ("executor.heartbeat_stale", Severity.CRITICAL, "watchdog")
    assert "61 s old" in alert.message


def test_a_missing_heartbeat_is_critical() -> None:
    [alert] = tick(ny("10:00"), World(None, [SIGNAL]))
    assert alert.severity is Severity.CRITICAL
    assert alert.alert_id == "wd-20260317-executor-stale-missing"


def test_the_same_stale_heartbeat_raises_one_alert_across_ticks() -> None:
    outbox = Outbox()
    last = ny("10:00")
    world = World(beat(last), [SIGNAL])
    raised = [tick(last + timedelta(minutes=m), world, outbox) for m in (2, 3, 4)]
    assert [len(r) for r in raised] == [1, 0, 0]


def test_a_new_silence_after_recovery_is_a_new_alert() -> None:
    outbox = Outbox()
    tick(ny("10:02"), World(beat(ny("10:00")), [SIGNAL]), outbox)
    tick(ny("11:02"), World(beat(ny("11:00")), [SIGNAL]), outbox)
    assert len(outbox.published) == 2


def test_a_disconnected_gateway_warns_then_escalates_to_critical() -> None:
    outbox = Outbox()
    down_since = ny("10:00")
    for minutes in (1, 2, 6, 7):
        now = down_since + timedelta(minutes=minutes)
        world = World(beat(now, gw1={"connected": False, "since": down_since}), [SIGNAL])
        tick(now, world, outbox)
    assert [a.severity for a in outbox.published.values()] == [Severity.WARNING, Severity.CRITICAL]
    assert all(a.type == "gateway.disconnected" for a in outbox.published.values())


def test_no_signal_by_0935_warns_once_per_day() -> None:
    outbox = Outbox()
    assert tick(ny("09:34"), World(beat(ny("09:34"))), outbox) == []
    [alert] = tick(ny("09:35"), World(beat(ny("09:35"))), outbox)
    assert tick(ny("09:36"), World(beat(ny("09:36"))), outbox) == []
    assert (alert.type, alert.severity, alert.alert_id) == ("signal.missing", Severity.WARNING, "wd-20260317-no-signal")


def test_entry_orders_not_final_by_1035_warn_with_the_signal_link() -> None:
    orders = [intent("f01", IntentState.FILLED), intent("f02", IntentState.WORKING)]
    assert tick(ny("10:34"), World(beat(ny("10:34")), [SIGNAL], orders)) == []
    [alert] = tick(ny("10:35"), World(beat(ny("10:35")), [SIGNAL], orders))
    assert (alert.type, alert.signal_id) == ("orders.not_final", SIGNAL.signal_id)
    assert "1 of 2 entry orders" in alert.message
    assert "f02" in alert.message


def test_working_exit_orders_in_the_afternoon_are_not_a_stuck_entry() -> None:
    orders = [intent("f01", IntentState.FILLED), intent("f01", IntentState.WORKING, IntentKind.EXIT)]
    assert tick(ny("15:56"), World(beat(ny("15:56")), [SIGNAL], orders)) == []


def test_silent_on_weekends_holidays_and_outside_market_hours() -> None:
    dead = World(None)
    assert tick(ny("10:00", date(2026, 3, 21)), dead) == []  # Saturday
    assert tick(ny("10:00", date(2026, 4, 3)), dead) == []  # Good Friday
    assert tick(ny("09:10"), dead) == []
    assert tick(ny("16:05"), dead) == []


def test_half_days_stop_watching_at_the_early_close() -> None:
    assert tick(ny("13:30", date(2026, 11, 27)), World(None)) == []


def test_every_tick_is_recorded_with_what_it_raised() -> None:
    world, outbox = World(None, [SIGNAL]), Outbox()
    tick(ny("10:00"), world, outbox)
    tick(ny("10:01"), world, outbox)
    assert world.ticks == [(ny("10:00"), ["wd-20260317-executor-stale-missing"]), (ny("10:01"), [])]
