"""A data farm broken for minutes: the gateway link asks the VM's supervisor for a restart, once per outage (a
gateway no supervisor runs is put to the operators instead)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from executor_fakes import FakeBroker, RecordingPublisher
from executor_world import follower, run, started, world
from test_executor_restart_windows import StepClock

from executor.alerts import Alerts
from executor.broker import BrokerTruth
from executor.farms import FarmWatch
from executor.gateways import GatewayLink
from spreadpilot.models import Gateway

T0 = datetime(2026, 3, 17, 15, 0, tzinfo=UTC)
BROKEN = "Market data farm connection is broken:usopt"


def test_a_farm_is_broken_from_its_broken_code_until_its_ok_code_and_inactive_counts_as_fine() -> None:
    farms = FarmWatch()
    farms.seen(2103, BROKEN, T0)
    farms.seen(2157, "Sec-def data farm connection is broken:secdefnj", T0 + timedelta(minutes=1))
    farms.seen(2103, BROKEN, T0 + timedelta(minutes=2))  # said again: still broken since T0
    farms.seen(2104, "Market data farm connection is OK:usfarm", T0)  # another farm: changes nothing
    farms.seen(399, "an order warning", T0)
    assert farms.broken_since() == T0
    assert farms.describe() == ("market data farm usopt since 15:00:00 UTC, security definition farm secdefnj since "
                                "15:01:00 UTC")
    farms.seen(2104, "Market data farm connection is OK:usopt", T0 + timedelta(minutes=3))
    farms.seen(2158, "Sec-def data farm connection is OK:secdefnj", T0 + timedelta(minutes=3))
    assert farms.broken_since() is None
    farms.seen(2105, "HMDS data farm connection is broken:ushmds", T0)
    farms.seen(2107, "HMDS data farm connection is inactive but should be available upon demand.ushmds", T0)
    assert farms.broken_since() == T0  # "inactive" names no farm after a colon: not this farm's OK


def test_a_farm_broken_for_five_minutes_asks_for_one_restart_per_outage_and_a_failed_ask_is_retried() -> None:
    clock = StepClock(T0)
    asked: list[tuple[str, datetime, str]] = []
    fail = [True]

    async def want(gateway_id: str, since: datetime, why: str) -> None:
        if fail.pop() if fail else False:
            raise RuntimeError("Firestore unavailable")
        asked.append((gateway_id, since, why))

    async def reconciler(gateway_id: str, truth: BrokerTruth) -> None:
        return None

    async def scenario() -> None:
        broker = FakeBroker(accounts=["DU001"])
        link = GatewayLink("gw", broker, clock=clock, alerts=Alerts(RecordingPublisher(), "alerts", clock),
                           reconciler=reconciler, on_order=lambda u: None, on_execution=lambda e: None,
                           on_farms_broken=want, farm_restart_after_s=300)
        broker.connected = True
        await link._reconcile("connected")
        broker.listener.on_farm(2103, BROKEN)
        for _ in range(12):  # six minutes, a look every 30 s
            clock.at += timedelta(seconds=30)
            await link._maybe_want_restart()
        broker.listener.on_farm(2104, "Market data farm connection is OK:usopt")
        clock.at += timedelta(minutes=1)
        await link._maybe_want_restart()

    asyncio.run(scenario())
    assert asked == [("gw", T0, "market data farm usopt since 15:00:00 UTC")]  # the first ask failed, the next held


def test_the_engine_asks_a_supervised_gateways_supervisor_and_tells_the_operators_about_a_hand_started_one() -> None:
    w = world([follower(1)])
    w.store.gateway_docs["gw-advisor"] = Gateway(id="gw-advisor", port=4002, client_id=1)  # no VM: by hand

    async def scenario() -> None:
        engine = await started(w)
        await engine._want_restart("gw-advisor", T0, "market data farm usopt since 15:00:00 UTC")
        assert w.store.gateway_docs["gw-advisor"].restart_wanted is None
        w.store.gateway_docs["gw-advisor"] = w.store.gateway_docs["gw-advisor"].model_copy(update={"vm": "vm-a"})
        await engine._want_restart("gw-advisor", T0, "market data farm usopt since 15:00:00 UTC")
        await engine.shutdown()

    run(scenario)
    wanted = w.store.gateway_docs["gw-advisor"].restart_wanted
    assert wanted is not None
    assert (wanted.since, wanted.why) == (T0, "data farm broken: market data farm usopt since 15:00:00 UTC")
    assert w.publisher.alert_types().count("gateway.farm_broken") == 1
