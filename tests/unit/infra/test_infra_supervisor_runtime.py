"""The VM's container runtime (systemd units over Docker) writes each gateway's files with the modes the login
needs, starts and stops the right units, and remembers what a container runs with (never the login itself); the
systemctl/journalctl calls go to a recording runner, the files to a temporary root."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from spreadpilot.models import Gateway
from spreadpilot.secrets import GatewayLogin
from supervisor.runtime import SystemdDocker

AT = datetime(2026, 3, 16, 13, 0, tzinfo=UTC)
GATEWAY = Gateway(id="adv", port=4101, vnc_port=5901, client_id=1, vm="vm1", accounts=("DU001",))
LOGIN = GatewayLogin(username="advisor_api", password="Tr0ub4dor-3")  # type: ignore[arg-type]


class RecordingRunner:
    def __init__(self, active: bool = True, journal: str = "") -> None:
        self.calls: list[list[str]] = []
        self.active = active
        self.journal = journal

    def __call__(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(argv))
        code = 0 if self.active or "is-active" not in argv else 3
        return subprocess.CompletedProcess(list(argv), code, stdout=self.journal, stderr="")


def runtime(tmp_path: Path, runner: RecordingRunner) -> SystemdDocker:
    return SystemdDocker("ghcr.io/gnzsnz/ib-gateway:10.30", "11:45 PM", etc=tmp_path / "etc",
                         state=tmp_path / "state", run=runner)


def test_starting_a_gateway_writes_its_login_to_files_only_its_container_can_read_then_starts_its_units(
    tmp_path: Path,
) -> None:
    runner = RecordingRunner()
    containers = runtime(tmp_path, runner)

    started = containers.start(GATEWAY, LOGIN, "digest-1", AT)

    secrets = tmp_path / "etc" / "secrets" / "adv"
    assert (secrets / "password").read_text() == "Tr0ub4dor-3"
    assert (secrets / "password").stat().st_mode & 0o777 == 0o400
    assert (secrets / "vnc-password").stat().st_mode & 0o777 == 0o400
    userid = tmp_path / "etc" / "gateways" / "adv.userid.env"
    assert userid.read_text() == "TWS_USERID=advisor_api\n"
    assert userid.stat().st_mode & 0o777 == 0o600
    settings = (tmp_path / "etc" / "gateways" / "adv.container.env").read_text()
    assert "Tr0ub4dor-3" not in settings
    assert "advisor_api" not in settings
    units = ["ib-gateway@adv.service", "spreadpilot-healthprobe@adv.timer"]
    assert runner.calls == [["systemctl", "enable", *units], ["systemctl", "restart", *units]]
    assert containers.managed() == {"adv"}
    assert containers.started("adv") == started
    assert "Tr0ub4dor-3" not in (tmp_path / "etc" / "gateways" / "adv.started").read_text()


def test_a_restart_keeps_the_vnc_password_it_made_once(tmp_path: Path) -> None:
    containers = runtime(tmp_path, RecordingRunner())
    containers.start(GATEWAY, LOGIN, "digest-1", AT)
    first = (tmp_path / "etc" / "secrets" / "adv" / "vnc-password").read_text()
    containers.start(GATEWAY, GatewayLogin(username="other", password="n3w-pw"), "digest-2", AT)  # type: ignore[arg-type]
    assert (tmp_path / "etc" / "secrets" / "adv" / "vnc-password").read_text() == first
    assert (tmp_path / "etc" / "secrets" / "adv" / "password").read_text() == "n3w-pw"


def test_stopping_a_gateway_disables_its_units_and_removes_its_login_and_settings(tmp_path: Path) -> None:
    runner = RecordingRunner()
    containers = runtime(tmp_path, runner)
    containers.start(GATEWAY, LOGIN, "digest-1", AT)

    containers.stop("adv")

    assert runner.calls[-1] == ["systemctl", "disable", "--now", "ib-gateway@adv.service",
                                "spreadpilot-healthprobe@adv.timer"]
    assert not (tmp_path / "etc" / "secrets" / "adv").exists()
    assert list((tmp_path / "etc" / "gateways").iterdir()) == []
    assert containers.managed() == set()
    assert containers.started("adv") is None


def test_ibcs_markers_come_from_the_containers_journal_since_it_started(tmp_path: Path) -> None:
    runner = RecordingRunner(journal="2026-03-15 IBC: Starting session\nIBC: Second Factor Authentication initiated\n")
    containers = runtime(tmp_path, runner)
    lines = containers.log_lines("adv", AT)
    assert lines == ["IBC: Second Factor Authentication initiated"]
    assert runner.calls[-1][:4] == ["journalctl", "CONTAINER_NAME=ib-gateway-adv", "--since", f"@{int(AT.timestamp())}"]
    assert containers.active("adv") is True
    assert runtime(tmp_path, RecordingRunner(active=False)).active("adv") is False
