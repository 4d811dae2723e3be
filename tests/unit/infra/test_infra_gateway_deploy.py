"""The gateway VM's deployment files: the startup script passes shellcheck, the units pass systemd-analyze, the
supervisor's per-gateway files bind IB Gateway to 127.0.0.1 with the password as a file, and the watchdog pings only
while the executor's heartbeat is fresh."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from infra_support import DEPLOY, REPO, TERRAFORM

sys.path.insert(0, str(DEPLOY))
import executor_watchdog
import render

import healthprobe
from spreadpilot.models import Gateway
from supervisor import files

CONFIG = {
    "project": "p", "trading_mode": "paper", "image": "ghcr.io/gnzsnz/ib-gateway:stable", "restart_time": "11:45 PM",
    "vm_name": "spreadpilot-gateway", "gateways_per_vm": 0, "executor_env": {"GOOGLE_CLOUD_PROJECT": "p"},
}
F02 = Gateway(id="f02", port=4102, vnc_port=5902, client_id=1, mode="paper", vm="spreadpilot-gateway")
VM_ONLY_PATHS = ("is not executable", "not found", "Failed to create")  # binaries and units only the VM has


def test_startup_and_web_release_scripts_pass_shellcheck(tools_venv: Path) -> None:
    stack = REPO / "local" / "stack"  # and the scripts make test itself runs
    scripts = [DEPLOY / "startup.sh", TERRAFORM / "deploy_web.sh", stack / "run_tests.sh", stack / "system_packages.sh"]
    result = subprocess.run([str(tools_venv / "bin" / "shellcheck"), *map(str, scripts)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_systemd_units_pass_systemd_analyze_verify() -> None:
    units = sorted(str(p) for p in (DEPLOY / "systemd").iterdir())
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *units], capture_output=True, text=True,
                            check=False)
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if line.strip() and not any(marker in line for marker in VM_ONLY_PATHS)]
    assert problems == []


def test_executor_unit_restarts_always_under_a_watchdog() -> None:
    unit = (DEPLOY / "systemd" / "spreadpilot-executor.service").read_text(encoding="utf-8")
    assert "Restart=always" in unit
    assert "WatchdogSec=" in unit
    assert "Type=notify" in unit


def test_gateway_unit_publishes_api_and_vnc_on_loopback_only() -> None:
    unit = (DEPLOY / "systemd" / "ib-gateway@.service").read_text(encoding="utf-8")
    publishes = [line.split()[1] for line in unit.splitlines() if line.strip().startswith("--publish")]
    assert publishes
    assert all(p.startswith("127.0.0.1:") for p in publishes)


def test_each_gateway_gets_its_own_ports_and_the_relay_port_of_its_trading_mode() -> None:
    env = files.unit_env(F02, "ghcr.io/gnzsnz/ib-gateway:stable")
    assert "API_PORT=4102\n" in env
    assert "VNC_PORT=5902\n" in env
    assert "CONTAINER_API_PORT=4004\n" in env
    assert "CONTAINER_API_PORT=4003\n" in files.unit_env(F02.model_copy(update={"mode": "live"}), "img")


def test_gateway_password_reaches_the_container_as_a_file_never_as_a_value() -> None:
    env = files.container_env(F02, "11:45 PM")
    assert "TWS_PASSWORD_FILE=/run/secrets/password\n" in env
    assert "TWS_PASSWORD=" not in env
    assert "TWS_USERID" not in env  # the login name is in the root-only userid file


def test_a_login_name_cannot_smuggle_another_variable_into_the_env_file() -> None:
    assert files.userid_env("advisor_api") == "TWS_USERID=advisor_api\n"
    with pytest.raises(ValueError, match="line break"):
        files.userid_env("x\nTWS_PASSWORD=stolen")


def test_gateway_restarts_daily_outside_market_hours_with_settings_kept() -> None:
    env = files.container_env(F02, "11:45 PM")
    assert "AUTO_RESTART_TIME=11:45 PM\n" in env
    assert "TIME_ZONE=America/New_York\n" in env
    assert "TWS_SETTINGS_PATH=/home/ibgateway/tws_settings\n" in env


def test_render_writes_the_executor_and_supervisor_env_and_nothing_per_gateway(tmp_path: Path) -> None:
    written = render.render(CONFIG, tmp_path)
    assert sorted(p.name for p in written) == ["executor.env", "supervisor.env"]
    supervisor = (tmp_path / "etc/spreadpilot/supervisor.env").read_text()
    assert "SPREADPILOT_VM_NAME=spreadpilot-gateway\n" in supervisor
    assert "SPREADPILOT_GATEWAYS_PER_VM=0\n" in supervisor
    assert (tmp_path / "etc/spreadpilot/supervisor.env").stat().st_mode & 0o777 == 0o600


def test_the_vm_runs_the_supervisor_from_the_executor_bundle_and_restarts_it_always() -> None:
    unit = (DEPLOY / "systemd" / "spreadpilot-supervisor.service").read_text(encoding="utf-8")
    assert "ExecStart=/opt/spreadpilot/executor/venv/bin/python -m supervisor" in unit
    assert "Restart=always" in unit
    startup = (DEPLOY / "startup.sh").read_text(encoding="utf-8")
    assert "spreadpilot-supervisor.service" in startup
    assert "gcloud secrets" not in startup  # logins are read by the supervisor, per gateway document


class FreshHeartbeat:
    def __init__(self, at: datetime | None) -> None:
        self.at = at

    def last_beat(self) -> datetime | None:
        return self.at


@pytest.fixture
def notify_socket(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.5)
    yield str(path), sock
    sock.close()


def test_watchdog_pings_systemd_when_the_heartbeat_is_fresh(notify_socket) -> None:  # type: ignore[no-untyped-def]
    path, sock = notify_socket
    now = datetime(2026, 3, 17, 15, 0, tzinfo=UTC)
    fresh = executor_watchdog.check_once(FreshHeartbeat(now - timedelta(seconds=20)), now, 90,
                                         lambda state: executor_watchdog.sd_notify(state, path))
    assert fresh
    assert sock.recv(64) == b"WATCHDOG=1"


def test_watchdog_withholds_the_ping_when_the_heartbeat_is_stale_or_absent(notify_socket) -> None:  # type: ignore[no-untyped-def]
    path, sock = notify_socket
    now = datetime(2026, 3, 17, 15, 0, tzinfo=UTC)
    for beat in (now - timedelta(minutes=5), None):
        assert not executor_watchdog.check_once(FreshHeartbeat(beat), now, 90,
                                                lambda state: executor_watchdog.sd_notify(state, path))
    with pytest.raises(TimeoutError):
        sock.recv(64)


def test_heartbeat_times_parse_from_firestore_timestamps_and_iso_text() -> None:
    aware = datetime(2026, 3, 17, 15, 0, tzinfo=UTC)
    assert executor_watchdog.parse_at(aware) == aware
    assert executor_watchdog.parse_at("2026-03-17T11:00:00-04:00") == aware
    assert executor_watchdog.parse_at("not a time") is None


def test_probe_reports_unhealthy_when_a_port_accepts_but_never_answers(capsys: pytest.CaptureFixture[str]) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True)
    thread.start()
    code = healthprobe.main(["--port", str(server.getsockname()[1]), "--gateway", "f01", "--timeout", "1"])
    line = json.loads(capsys.readouterr().out)
    thread.join(timeout=5)
    for conn in accepted:
        conn.close()
    server.close()
    assert code == 1
    assert line["healthy"] is False
    assert "timed out" in line["message"]
    assert line["component"] == "healthprobe"
    assert line["gateway"] == "f01"


def test_probe_reports_unhealthy_when_nothing_listens(capsys: pytest.CaptureFixture[str]) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.close()
    assert healthprobe.main(["--port", str(port), "--timeout", "1"]) == 1
    assert json.loads(capsys.readouterr().out)["healthy"] is False
