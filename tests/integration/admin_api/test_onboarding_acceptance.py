"""Onboarding over real parts: an admin adds a gateway with its login through the served API (as the admin API's
service account), the gateway VM's supervisor (as the VM's service account) starts its container with that login
from Secret Manager, the executor connects to it, a follower added afterwards through the API is traded at the
broker on the next signal (the simulator's journal), and removing the gateway stops its container and alerts
that the follower has none. The executor runs from before the gateway exists to after it is removed: it takes the
gateway up, and lets it go, without a restart.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from admin_harness import AdminClient, new_follower
from google.cloud import firestore

from gatewayvm.testing import GatewayVmProcess
from ibsim.testing import sim_clock
from spreadpilot.clock import SimClock
from spreadpilot.envelopes import AlertMessage, SignalMessage, decode
from spreadpilot.models import Signal, Spread, Strategy, make_intent_id, make_signal_id
from spreadpilot.publisher import PubSubPublisher
from spreadpilot.store import Store
from stack.executor_process import ExecutorProcess, wait_for
from stack.local_stack import LocalStack
from stack.topology import TopicTap

START = "2026-03-17T09:40:00-04:00"
DAY = date(2026, 3, 17)


@pytest.fixture
def clock() -> SimClock:
    return sim_clock(START, 20.0)


@pytest.fixture
def vm(admin: AdminClient, clean_stack: LocalStack, clock: SimClock, tmp_path: Path) -> Iterator[GatewayVmProcess]:
    process = GatewayVmProcess(tmp_path / "vm", project=clean_stack.project, journals=tmp_path / "journals",
                               env={"SPREADPILOT_CLOCK": clock.spec()})
    process.wait_ready()
    yield process
    process.stop()


def journal(tmp_path: Path, gateway_id: str) -> list[dict[str, Any]]:
    path = tmp_path / "journals" / f"ibsim-{gateway_id}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def executor_gateway(db: firestore.Client, gateway_id: str) -> dict[str, Any]:
    """The executor's heartbeat entry for one gateway ({} when it does not follow the gateway)."""
    beat = db.collection("heartbeats").document("executor").get().to_dict() or {}
    return dict(beat.get("gateways", {}).get(gateway_id, {}))


def state(db: firestore.Client, gateway_id: str) -> str:
    doc = db.collection("gateways").document(gateway_id).get().to_dict() or {}
    return str((doc.get("status") or {}).get("state", ""))


def test_a_gateway_added_in_the_app_runs_with_its_login_and_a_follower_added_on_it_trades_on_the_next_signal(
    admin: AdminClient, vm: GatewayVmProcess, clean_stack: LocalStack, firestore_db: firestore.Client,
    clock: SimClock, tap: Callable[[str], TopicTap], tmp_path: Path,
) -> None:
    signals = tap("signals")
    executor = ExecutorProcess(clock, tmp_path / "executor.log", signals_subscription=signals.subscription,
                               lifecycle_enabled="false", gateways_poll_s="1")
    try:
        wait_for(lambda: firestore_db.collection("heartbeats").document("executor").get().exists, 60,
                 "the executor to run, with no gateway yet")
        created = admin.call("POST", "/gateways", {"id": "adv", "kind": "advisor", "accounts": ["DU001", "DU002"],
                                                   "username": "advisor_api", "password": "Adv-Pa55phrase"})
        assert created.status_code == 201, created.text
        port = created.json()["port"]
        wait_for(lambda: state(firestore_db, "adv") == "logged_in", 30, "the gateway to log in")
        assert (vm.login("adv") or {})["username"] == "advisor_api"
        wait_for(lambda: executor_gateway(firestore_db, "adv").get("connected"), 60,
                 "the running executor to connect to the new gateway")

        added = admin.call("POST", "/followers", new_follower("f01", gateway_id="adv", ibkr_account="DU002",
                                                              multiplier="1", max_contracts=2))
        assert added.status_code == 201, added.text
        spread = Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485), long_strike=Decimal(480))
        signal = Signal(signal_id=make_signal_id(DAY, "QQQ", spread, 2), date=DAY, ticker="QQQ", spread=spread,
                        qty_per_leg=2, detected_at=datetime(2026, 3, 17, 13, 41, tzinfo=UTC))
        PubSubPublisher(clean_stack.project).publish("signals", SignalMessage(signal=signal))
        order_ref = make_intent_id(signal.signal_id, "f01")
        wait_for(lambda: any(e["event"] == "order" and not e.get("what_if") and e.get("order_ref") == order_ref
                             for e in journal(tmp_path, "adv")), 90, "the follower's order at the broker")

        orders = [e for e in journal(tmp_path, "adv") if e["event"] == "order" and not e.get("what_if")]
        assert {e["account"] for e in orders if e.get("order_ref") == order_ref} == {"DU002"}
        intent = next(i for i in Store(firestore_db).orders.all() if i.follower_id == "f01")
        assert (intent.gateway_id, intent.account) == ("adv", "DU002")

        alerts = tap("alerts")
        removed = admin.call("POST", "/gateways/adv/remove")
        assert removed.json()["followers_without_gateway"] == ["f01"]
        wait_for(lambda: not listening(port), 30, "the gateway's container to stop")
        deadline, found = time.monotonic() + 20, []
        while not found and time.monotonic() < deadline:
            found = [a for a in (decode(m.data, AlertMessage).alert for m in alerts.pull(5, timeout_s=2))
                     if a.type == "gateway.removed"]
        assert found
        assert found[0].context["followers"] == "f01"
        wait_for(lambda: not executor_gateway(firestore_db, "adv"), 30,
                 "the running executor to let the removed gateway go")
        assert executor.process.poll() is None  # the same process throughout: no restart
    finally:
        executor.stop()
