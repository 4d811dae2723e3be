"""Gateways are data: the executor follows ``gateways/*`` at runtime, without a restart (issue: onboarding).

A gateway an admin adds is connected, reconciled and traded on the next signal; one removed is disconnected, its
lease given up and its intents left to whoever drives it; one whose connection changed is connected anew."""

from __future__ import annotations

import asyncio

from executor_fakes import FakeBroker
from executor_world import follower, run, signal, started, until, world

from executor.engine import Engine
from spreadpilot.models import Gateway, IntentState


def test_a_gateway_added_at_runtime_is_connected_and_traded_and_one_removed_is_let_go() -> None:
    w = world([follower(1, "gw-a")], gateways_poll_s=0.5)
    made: dict[str, FakeBroker] = {}

    def connect(gateway: Gateway) -> FakeBroker:
        made[gateway.id] = FakeBroker(accounts=list(gateway.accounts))
        return made[gateway.id]

    w.engine = lambda: Engine(w.store, w.brokers, w.publisher, w.settings, w.clock,  # type: ignore[method-assign]
                              leases=w.leases, holder=w.holder, connect=connect)

    async def scenario() -> None:
        engine = await started(w)
        w.store.gateway_docs["gw-b"] = Gateway(id="gw-b", port=4010, client_id=1, accounts=("DU002",))
        w.store.followers["f02"] = follower(2, "gw-b")
        await until(lambda: "gw-b" in engine.links and engine.links["gw-b"].ready.is_set(), 10)
        await engine.handle_signal(signal())
        await engine.idle()
        assert w.store.states() == {"f01": IntentState.FILLED, "f02": IntentState.FILLED}
        assert [e["account"] for e in made["gw-b"].journal if e["event"] == "order"] == ["DU002"]

        del w.store.gateway_docs["gw-b"]
        await until(lambda: "gw-b" not in engine.links, 10)
        assert not made["gw-b"].connected
        assert w.leases.records["gw-b"].holder == w.holder  # given up: expired, so another process takes it at once
        await engine.shutdown(grace_s=0.1)

    run(scenario)


def test_a_gateway_whose_port_changed_is_connected_anew_and_a_failed_read_changes_nothing() -> None:
    w = world([follower(1, "gw-a")], gateways_poll_s=0.5)
    made: list[Gateway] = []

    def connect(gateway: Gateway) -> FakeBroker:
        made.append(gateway)
        return FakeBroker(accounts=["DU001"])

    w.engine = lambda: Engine(w.store, w.brokers, w.publisher, w.settings, w.clock,  # type: ignore[method-assign]
                              leases=w.leases, holder=w.holder, connect=connect)

    async def scenario() -> None:
        engine = await started(w)
        w.store.fail["gateways"] = 3  # Firestore down for a few polls: the gateways stay as they are
        await asyncio.sleep(1.0)
        assert list(engine.links) == ["gw-a"]
        assert engine.links["gw-a"].ready.is_set()
        w.store.gateway_docs["gw-a"] = w.store.gateway_docs["gw-a"].model_copy(update={"port": 4999})
        await until(lambda: [g.port for g in made] == [4999] and engine.links["gw-a"].ready.is_set(), 10)
        await engine.shutdown(grace_s=0.1)

    run(scenario)


def test_a_gateway_that_fails_to_let_go_keeps_the_watcher_following_the_others() -> None:
    # the removal's awaits (the session's end, the disconnect, the lease given up) may fail: the watcher must not
    # die with it, or no gateway is followed any more until a restart
    w = world([follower(1, "gw-a")], gateways_poll_s=0.5)

    class StuckSocket(FakeBroker):
        async def disconnect(self) -> None:
            raise ConnectionResetError("the socket would not close")

    def connect(gateway: Gateway) -> FakeBroker:
        return (StuckSocket if gateway.id == "gw-b" else FakeBroker)(accounts=list(gateway.accounts))

    w.engine = lambda: Engine(w.store, w.brokers, w.publisher, w.settings, w.clock,  # type: ignore[method-assign]
                              leases=w.leases, holder=w.holder, connect=connect)

    async def scenario() -> None:
        engine = await started(w)
        w.store.gateway_docs["gw-b"] = Gateway(id="gw-b", port=4010, client_id=1, accounts=("DU002",))
        await until(lambda: "gw-b" in engine.links and engine.links["gw-b"].ready.is_set(), 10)
        del w.store.gateway_docs["gw-b"]
        await until(lambda: "gw-b" not in engine.links, 10)
        w.store.gateway_docs["gw-c"] = Gateway(id="gw-c", port=4011, client_id=1, accounts=("DU003",))
        await until(lambda: "gw-c" in engine.links and engine.links["gw-c"].ready.is_set(), 10)
        await engine.shutdown(grace_s=0.1)

    run(scenario)
