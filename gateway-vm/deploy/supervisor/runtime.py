"""Where IB Gateway containers run: ``ContainerRuntime``, and ``SystemdDocker`` for the VM.

``SystemdDocker`` runs each gateway as the ``ib-gateway@<id>`` template unit (``docker run`` of the IBC image, API
and VNC on 127.0.0.1) with its ``spreadpilot-healthprobe@<id>`` timer. Starting one writes its files first:
``/etc/spreadpilot/gateways/<id>.env`` and ``.container.env`` (settings), ``<id>.userid.env`` (root only), and
``/etc/spreadpilot/secrets/<id>/password`` and ``vnc-password`` (mode 0400, owned by the image's user, mounted
read-only). The VNC password is made on the VM once per gateway: operators read it over IAP SSH for a manual 2FA.
IBC's log lines come from journald (the container logs there under ``CONTAINER_NAME=ib-gateway-<id>``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from spreadpilot.models import Gateway
from spreadpilot.secrets import GatewayLogin
from supervisor.files import container_env, unit_env, userid_env
from supervisor.observe import MARKERS

IB_GATEWAY_UID = 1000  # the image runs IB Gateway as its own user: the files it reads belong to it


@dataclass(frozen=True)
class Started:
    """What a container was started with (a digest of its login and settings, never the login) and when."""

    digest: str
    at: datetime


class ContainerRuntime(Protocol):
    """Starts, stops and looks at gateway containers."""

    def managed(self) -> set[str]:
        """Ids of the gateways this runtime has containers (running or restarting) for."""
        ...

    def started(self, gateway_id: str) -> Started | None:
        """What the gateway's container was last started with, or None."""
        ...

    def start(self, gateway: Gateway, login: GatewayLogin, digest: str, at: datetime) -> Started:
        """(Re)write the gateway's files and (re)start its container with ``login``."""
        ...

    def stop(self, gateway_id: str) -> None:
        """Stop the container and remove its files and login."""
        ...

    def active(self, gateway_id: str) -> bool:
        """Whether the container's process is up."""
        ...

    def log_lines(self, gateway_id: str, since: datetime) -> Sequence[str]:
        """IBC's log lines of the container since ``since``."""
        ...


Run = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]


def _run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=60, check=False)  # noqa: S603 - argv is ours


class SystemdDocker:
    """Gateways as ``ib-gateway@<id>`` units on this VM (the supervisor runs as root to manage them)."""

    def __init__(self, image: str, restart_time: str, etc: Path = Path("/etc/spreadpilot"),
                 state: Path = Path("/var/lib/ib-gateway"), run: Run = _run) -> None:
        self.image = image
        self.restart_time = restart_time
        self.etc = etc
        self.state = state
        self.run = run

    def _units(self, gateway_id: str) -> list[str]:
        return [f"ib-gateway@{gateway_id}.service", f"spreadpilot-healthprobe@{gateway_id}.timer"]

    def managed(self) -> set[str]:
        folder = self.etc / "gateways"
        return {p.name.removesuffix(".container.env") for p in folder.glob("*.container.env")} if folder.is_dir() \
            else set()

    def started(self, gateway_id: str) -> Started | None:
        path = self.etc / "gateways" / f"{gateway_id}.started"
        try:
            digest, epoch = path.read_text(encoding="utf-8").split()
        except (OSError, ValueError):
            return None
        return Started(digest, datetime.fromtimestamp(float(epoch), UTC))

    def start(self, gateway: Gateway, login: GatewayLogin, digest: str, at: datetime) -> Started:
        gateways = self.etc / "gateways"
        gateways.mkdir(parents=True, exist_ok=True)
        _write(gateways / f"{gateway.id}.env", unit_env(gateway, self.image), 0o644)
        _write(gateways / f"{gateway.id}.container.env", container_env(gateway, self.restart_time), 0o644)
        _write(gateways / f"{gateway.id}.userid.env", userid_env(login.username), 0o600)
        folder = self.etc / "secrets" / gateway.id
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        _own(folder)
        _write(folder / "password", login.password.get_secret_value(), 0o400, owned=True)
        if not (folder / "vnc-password").exists():
            _write(folder / "vnc-password", secrets.token_urlsafe(12), 0o400, owned=True)
        settings = self.state / gateway.id / "tws_settings"
        settings.mkdir(parents=True, exist_ok=True, mode=0o700)
        _own(settings.parent)
        _own(settings)
        self.run(["systemctl", "enable", *self._units(gateway.id)])
        self.run(["systemctl", "restart", *self._units(gateway.id)])
        _write(gateways / f"{gateway.id}.started", f"{digest} {at.timestamp()}\n", 0o600)
        return Started(digest, at)

    def stop(self, gateway_id: str) -> None:
        self.run(["systemctl", "disable", "--now", *self._units(gateway_id)])
        for suffix in (".env", ".container.env", ".userid.env", ".started"):
            (self.etc / "gateways" / f"{gateway_id}{suffix}").unlink(missing_ok=True)
        shutil.rmtree(self.etc / "secrets" / gateway_id, ignore_errors=True)
        shutil.rmtree(self.state / gateway_id, ignore_errors=True)

    def active(self, gateway_id: str) -> bool:
        return self.run(["systemctl", "is-active", "--quiet", f"ib-gateway@{gateway_id}.service"]).returncode == 0

    def log_lines(self, gateway_id: str, since: datetime) -> Sequence[str]:
        result = self.run(["journalctl", f"CONTAINER_NAME=ib-gateway-{gateway_id}", "--since",
                           f"@{int(since.timestamp())}", "--output", "cat", "--no-pager"])
        return [line for line in result.stdout.splitlines() if any(m in line for m in MARKERS)]


def _write(path: Path, text: str, mode: int, *, owned: bool = False) -> None:
    """Write atomically with ``mode`` from the start (a password is never readable by others, even briefly)."""
    partial = path.with_name(path.name + ".new")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    if owned:
        _own(partial)
    partial.replace(path)


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        os.chown(path, IB_GATEWAY_UID, IB_GATEWAY_UID)
