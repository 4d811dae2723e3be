"""The gateway VM's supervisor follows the gateway documents: the real supervisor (``python -m gatewayvm``, as the
VM's service account) against the Firestore emulator, the Secret Manager fake (which enforces iam.tf) and Pub/Sub,
with IB Gateway containers played by simulator processes that really answer the TWS API handshake."""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from google.cloud import firestore

from gatewayvm.testing import GatewayVmProcess
from spreadpilot.clock import CLOCK_ENV, SimClock
from spreadpilot.envelopes import AlertMessage, decode
from spreadpilot.models import Follower, Gateway, GatewayKind, GatewayRestartWanted, GatewayState
from spreadpilot.secrets import GatewayLogin, Secrets, gateway_login_secret
from spreadpilot.store import Store
from stack.local_stack import LocalStack
from stack.processes import free_port
from stack.topology import TopicTap

IBAN = "DE89370400440532013000"


@pytest.fixture
def start_vm(clean_stack: LocalStack, tmp_path: Path) -> Iterator[Callable[..., GatewayVmProcess]]:
    started: list[GatewayVmProcess] = []

    def start(**options: Any) -> GatewayVmProcess:
        started.append(GatewayVmProcess(tmp_path / f"vm{len(started)}", project=clean_stack.project, **options))
        started[-1].wait_ready()
        return started[-1]

    yield start
    for vm in started:
        vm.stop()


PASSWORD = "pw-0001"


def add_gateway(stack: LocalStack, db: firestore.Client, gateway_id: str, *, username: str = "adv_api",
                password: str = PASSWORD, accounts: tuple[str, ...] = ("DU001", "DU002"),
                kind: GatewayKind = GatewayKind.ADVISOR, login: bool = True) -> Gateway:
    """What the admin API does for a new gateway: the login first, then the document (as the project owner)."""
    if login:
        Secrets(stack.project).write(gateway_login_secret(gateway_id),
                                     GatewayLogin(username=username, password=password).to_secret())  # type: ignore[arg-type]
    gateway = Gateway(id=gateway_id, port=free_port("127.0.0.1"), client_id=1, kind=kind, accounts=accounts,
                      vm="local", secret_name=gateway_login_secret(gateway_id), created_at=datetime.now(UTC))
    Store(db).gateways.create(gateway)
    return gateway


def status(db: firestore.Client, gateway_id: str) -> dict[str, Any]:
    snap = db.collection("gateways").document(gateway_id).get()
    return dict((snap.to_dict() or {}).get("status") or {}) if snap.exists else {}


def wait_until(condition: Callable[[], object], what: str, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def wait_state(db: firestore.Client, gateway_id: str, state: GatewayState, timeout_s: float = 30.0) -> dict[str, Any]:
    return wait_until(lambda: (s := status(db, gateway_id)).get("state") == state and s, f"{gateway_id} {state}",
                      timeout_s)  # type: ignore[no-any-return]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def alerts_of(tap: TopicTap, kind: str, count: int = 1, timeout_s: float = 20.0) -> list[Any]:
    found: list[Any] = []
    deadline = time.monotonic() + timeout_s
    while len(found) < count and time.monotonic() < deadline:
        found += [a for a in (decode(m.data, AlertMessage).alert for m in tap.pull(5, timeout_s=2))
                  if a.type == kind or not kind]  # "": every alert
    return found


def test_a_new_gateway_document_gets_a_container_with_its_login_that_answers_the_api_and_is_reported_logged_in(
    start_vm: Callable[..., GatewayVmProcess], clean_stack: LocalStack, firestore_db: firestore.Client,
    tap: Callable[[str], TopicTap],
) -> None:
    alerts = tap("alerts")
    vm = start_vm(capacity=2)
    gateway = add_gateway(clean_stack, firestore_db, "gw-adv", username="advisor_api", password="Tr0ub4dor-3")

    reported = wait_state(firestore_db, "gw-adv", GatewayState.LOGGED_IN)

    assert reported["accounts_seen"] == ["DU001", "DU002"]
    assert reported["vm"] == "local"
    assert listening(gateway.port)
    started = vm.login("gw-adv")
    assert started is not None
    assert started["username"] == "advisor_api"
    assert started["password_sha256"] == hashlib.sha256(b"Tr0ub4dor-3").hexdigest()
    assert "Tr0ub4dor-3" not in vm.log()
    report = firestore_db.collection("gateway_vms").document("local").get().to_dict()
    assert (report["capacity"], report["running"]) == (2, ["gw-adv"])
    [logged_in] = alerts_of(alerts, "gateway.logged_in")
    assert logged_in.severity == "INFO"


def test_removing_the_document_stops_the_container(
    start_vm: Callable[..., GatewayVmProcess], clean_stack: LocalStack, firestore_db: firestore.Client,
) -> None:
    vm = start_vm()
    gateway = add_gateway(clean_stack, firestore_db, "gw-gone")
    wait_state(firestore_db, "gw-gone", GatewayState.LOGGED_IN)

    firestore_db.collection("gateways").document("gw-gone").delete()

    wait_until(lambda: not listening(gateway.port), "the container to stop")
    wait_until(lambda: firestore_db.collection("gateway_vms").document("local").get().to_dict()["running"] == [],
               "the VM to report no container")
    assert vm.login("gw-gone") is None


def test_a_new_login_restarts_the_container_with_it(
    start_vm: Callable[..., GatewayVmProcess], clean_stack: LocalStack, firestore_db: firestore.Client,
) -> None:
    vm = start_vm()
    add_gateway(clean_stack, firestore_db, "gw-rot", username="first_user")
    wait_state(firestore_db, "gw-rot", GatewayState.LOGGED_IN)

    Secrets(clean_stack.project).write(gateway_login_secret("gw-rot"), GatewayLogin(
        username="second_user", password="pw-0002").to_secret())  # type: ignore[arg-type]

    wait_until(lambda: (vm.login("gw-rot") or {}).get("username") == "second_user", "a restart with the new login")
    wait_state(firestore_db, "gw-rot", GatewayState.LOGGED_IN)


def test_a_weekly_2fa_waits_asks_the_operator_and_the_follower_and_clears_itself_once_approved(
    start_vm: Callable[..., GatewayVmProcess], clean_stack: LocalStack, firestore_db: firestore.Client,
    tap: Callable[[str], TopicTap],
) -> None:
    alerts = tap("alerts")
    vm = start_vm(two_factor=["gw-f01"])
    Store(firestore_db).followers.put(Follower(
        id="f01", name="Anna Rossi", email="anna@example.com", iban=IBAN, commission_pct=20, gateway_id="gw-f01",
        ibkr_account="DU001"))  # type: ignore[arg-type]
    gateway = add_gateway(clean_stack, firestore_db, "gw-f01", kind=GatewayKind.FOLLOWER, accounts=("DU001",))

    waiting = wait_state(firestore_db, "gw-f01", GatewayState.WAITING_FOR_2FA)
    [asked] = alerts_of(alerts, "gateway.2fa_required")
    waiting_gate = Store(firestore_db).gateways.get("gw-f01").entry_gate()  # type: ignore[union-attr]
    api_while_waiting = listening(gateway.port)
    vm.approve("gw-f01")
    wait_state(firestore_db, "gw-f01", GatewayState.LOGGED_IN)
    [cleared] = alerts_of(alerts, "gateway.logged_in")

    assert "IBKR Mobile" in waiting["detail"]
    assert (waiting_gate, api_while_waiting) == ("wait", False)
    assert (asked.severity, asked.follower_id, asked.context["notify_follower"]) == ("WARNING", "f01", "email")
    assert asked.context["follower_email"] == "anna@example.com"  # the alert router e-mails the follower
    assert "approve the notification" in asked.context["follower_message"]
    assert "entries on it wait" in asked.message
    assert (cleared.severity, cleared.follower_id) == ("INFO", "f01")
    assert Store(firestore_db).gateways.get("gw-f01").entry_gate() == "go"  # type: ignore[union-attr]


def test_a_vm_at_capacity_refuses_the_next_gateway_and_says_why(
    start_vm: Callable[..., GatewayVmProcess], clean_stack: LocalStack, firestore_db: firestore.Client,
) -> None:
    start_vm(capacity=1)
    add_gateway(clean_stack, firestore_db, "gw-first")
    second = add_gateway(clean_stack, firestore_db, "gw-second")

    wait_state(firestore_db, "gw-first", GatewayState.LOGGED_IN)
    refused = wait_state(firestore_db, "gw-second", GatewayState.FAILED)

    assert "VM local is full (1 gateways" in refused["detail"]
    assert not listening(second.port)


def test_a_gateway_whose_login_cannot_be_read_fails_and_a_refused_login_says_to_change_it(
    start_vm: Callable[..., GatewayVmProcess], clean_stack: LocalStack, firestore_db: firestore.Client,
) -> None:
    start_vm(refuse=["wrong_user"])
    add_gateway(clean_stack, firestore_db, "gw-nologin", login=False)
    add_gateway(clean_stack, firestore_db, "gw-refused", username="wrong_user")

    missing = wait_state(firestore_db, "gw-nologin", GatewayState.FAILED)
    refused = wait_state(firestore_db, "gw-refused", GatewayState.FAILED)

    assert "login secret cannot be read" in missing["detail"]
    assert "change the gateway's login" in refused["detail"]


def _vm_at(start_vm: Callable[..., GatewayVmProcess], new_york_time: str) -> tuple[GatewayVmProcess, SimClock]:
    """A VM whose supervisor's clock reads ``new_york_time`` on Tuesday 8 December 2026 (a trading day), now."""
    clock = SimClock(datetime.fromisoformat(f"2026-12-08T{new_york_time}-05:00"), 1.0, time.time())
    return start_vm(env={CLOCK_ENV: clock.spec()}, hung_restart_after_s=2.0), clock


def test_a_gateway_hung_after_the_close_is_restarted_by_the_supervisor_itself(
    start_vm: Callable[..., GatewayVmProcess], clean_stack: LocalStack, firestore_db: firestore.Client,
    tap: Callable[[str], TopicTap],
) -> None:
    alerts = tap("alerts")
    vm, _ = _vm_at(start_vm, "19:30:00")
    add_gateway(clean_stack, firestore_db, "gw-hung")
    wait_state(firestore_db, "gw-hung", GatewayState.LOGGED_IN)

    vm.hang("gw-hung")  # the process stops answering; the port still accepts
    [restarted] = alerts_of(alerts, "gateway.restarted")
    again = wait_state(firestore_db, "gw-hung", GatewayState.LOGGED_IN, timeout_s=40)

    assert restarted.severity == "WARNING"
    assert "has not answered" in restarted.message
    assert "outside trading hours" in restarted.message
    assert again["accounts_seen"] == ["DU001", "DU002"]
    assert '"message": "restarting a hung gateway"' in vm.log()


def test_a_gateway_hung_during_the_trading_day_waits_for_an_operator_then_restarts_once_approved(
    start_vm: Callable[..., GatewayVmProcess], clean_stack: LocalStack, firestore_db: firestore.Client,
    tap: Callable[[str], TopicTap],
) -> None:
    alerts = tap("alerts")
    vm, clock = _vm_at(start_vm, "11:00:00")
    add_gateway(clean_stack, firestore_db, "gw-busy")
    wait_state(firestore_db, "gw-busy", GatewayState.LOGGED_IN)

    vm.hang("gw-busy")
    [asked] = alerts_of(alerts, "gateway.restart_asked")
    waiting = wait_until(lambda: "approve a restart" in status(firestore_db, "gw-busy").get("detail", "")
                         and status(firestore_db, "gw-busy"), "the status to ask for approval")
    time.sleep(4)  # two more hang thresholds: still not restarted, and asked only once
    not_yet = [a for a in alerts_of(alerts, "", count=99, timeout_s=3) if a.type in ("gateway.restarted",
                                                                           "gateway.restart_asked")]
    firestore_db.collection("gateways").document("gw-busy").update({  # what POST /gateways/{id}/restart writes
        "restart_approved_at": clock.now().isoformat(), "restart_approved_by": "ops@example.com"})
    [restarted] = alerts_of(alerts, "gateway.restarted")
    wait_state(firestore_db, "gw-busy", GatewayState.LOGGED_IN, timeout_s=40)

    assert asked.severity == "CRITICAL"
    assert "approve the restart in the web app" in asked.message
    assert waiting["state"] == "starting"  # logged in, the API does not answer: entries wait
    assert not_yet == []
    assert "approved by ops@example.com" in restarted.message


def test_a_gateway_whose_data_farm_the_executor_reports_broken_is_restarted_and_a_restart_answers_the_request(
    start_vm: Callable[..., GatewayVmProcess], clean_stack: LocalStack, firestore_db: firestore.Client,
    tap: Callable[[str], TopicTap],
) -> None:
    alerts = tap("alerts")
    vm, clock = _vm_at(start_vm, "20:00:00")
    add_gateway(clean_stack, firestore_db, "gw-farm")
    wait_state(firestore_db, "gw-farm", GatewayState.LOGGED_IN)

    wanted = GatewayRestartWanted(at=clock.now(), since=clock.now() - timedelta(minutes=5),
                                  why="data farm broken: market data farm usopt since 00:55:00 UTC")
    firestore_db.collection("gateways").document("gw-farm").update({"restart_wanted": wanted.to_doc()})
    [restarted] = alerts_of(alerts, "gateway.restarted")
    wait_state(firestore_db, "gw-farm", GatewayState.LOGGED_IN, timeout_s=40)
    time.sleep(3)  # passes after the restart: the request was answered by it, nothing is restarted again
    again = [a for a in alerts_of(alerts, "", count=99, timeout_s=3) if a.type == "gateway.restarted"]

    assert restarted.severity == "WARNING"
    assert "the executor reports it broken" in restarted.message
    assert "market data farm usopt" in restarted.message
    assert again == []
    assert vm.log().count('"message": "restarting a hung gateway"') == 1
