"""IB Gateway containers as ``python -m ibsim`` processes, with IBC's login behaviour played from files.

A "container" serves the gateway's accounts on the gateway's port, after IBC's login: a gateway listed in
``two_factor`` logs ``Second Factor Authentication initiated`` and waits until ``<state>/<id>.approved`` exists
(the owner approved on IBKR Mobile; tests and the demo ``touch`` it), then ``Login has completed`` and the API
answers. A login whose username is in ``refused_usernames`` logs ``Unrecognized Username or Password`` and never
logs in. What each container was started with is kept in ``<state>/<id>.login.json`` (the username and a SHA-256 of
the password, never the password), so tests can see that the supervisor passed the admin's login through. A
container whose ``<state>/<id>.hang`` appears hangs: its process is stopped (SIGSTOP), the port accepts connections
and nothing answers, as a hung IB Gateway does; a restart replaces it with a fresh one.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from spreadpilot.models import Gateway
from spreadpilot.secrets import GatewayLogin
from stack.processes import dying_with_parent
from supervisor.observe import BAD_LOGIN, LOGGED_IN, TWO_FA_STARTED
from supervisor.runtime import Started

DEFAULT_ACCOUNTS = ("DU001",)


@dataclass
class _Container:
    gateway: Gateway
    started: Started
    markers: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    refused: bool = False
    frozen: bool = False  # hung: the process is stopped (SIGSTOP), its port accepts and never answers


class IbsimContainers:
    """``supervisor.runtime.ContainerRuntime`` over simulator processes."""

    def __init__(self, state: Path, journals: Path | None = None, two_factor: Sequence[str] = (),
                 refused_usernames: Sequence[str] = ()) -> None:
        self.state = state
        self.journals = journals
        self.two_factor = set(two_factor)
        self.refused_usernames = set(refused_usernames)
        self.containers: dict[str, _Container] = {}
        state.mkdir(parents=True, exist_ok=True)

    def managed(self) -> set[str]:
        return set(self.containers)

    def started(self, gateway_id: str) -> Started | None:
        found = self.containers.get(gateway_id)
        return found.started if found else None

    def start(self, gateway: Gateway, login: GatewayLogin, digest: str, at: datetime) -> Started:
        self.stop(gateway.id)
        container = _Container(gateway, Started(digest, at))
        self.containers[gateway.id] = container
        password = hashlib.sha256(login.password.get_secret_value().encode()).hexdigest()
        (self.state / f"{gateway.id}.login.json").write_text(
            json.dumps({"username": login.username, "password_sha256": password, "port": gateway.port}),
            encoding="utf-8")
        if login.username in self.refused_usernames:
            container.refused = True
            container.markers.append(BAD_LOGIN)
        elif gateway.id in self.two_factor and not self._approved(gateway.id):
            container.markers.append(TWO_FA_STARTED)
        else:
            self._log_in(container)
        return container.started

    def _approved(self, gateway_id: str) -> bool:
        return (self.state / f"{gateway_id}.approved").exists()

    def _log_in(self, container: _Container) -> None:
        gateway = container.gateway
        argv = [sys.executable, "-m", "ibsim", "--host", gateway.host, "--port", str(gateway.port),
                "--accounts", ",".join(gateway.accounts or DEFAULT_ACCOUNTS)]
        if self.journals is not None:
            self.journals.mkdir(parents=True, exist_ok=True)
            argv += ["--journal", str(self.journals / f"ibsim-{gateway.id}.jsonl")]
        # A container dies with its VM: a killed supervisor leaves no simulator holding the gateway's port.
        container.process = subprocess.Popen(dying_with_parent(argv), stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL)
        container.markers.append(LOGGED_IN)

    def stop(self, gateway_id: str) -> None:
        container = self.containers.pop(gateway_id, None)
        if container is not None and container.process is not None:
            if container.frozen:
                container.process.kill()  # a stopped process keeps SIGTERM pending; it is killed as a hung one is
            container.process.terminate()
            try:
                container.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                container.process.kill()
                container.process.wait()
        (self.state / f"{gateway_id}.login.json").unlink(missing_ok=True)

    def active(self, gateway_id: str) -> bool:
        container = self.containers.get(gateway_id)
        if container is None:
            return False
        if container.process is None and not container.refused and self._approved(gateway_id):
            self._log_in(container)  # the owner approved the 2FA prompt
        hang = self.state / f"{gateway_id}.hang"
        if container.process is not None and hang.exists():
            os.kill(container.process.pid, signal.SIGSTOP)  # IB Gateway hangs: running, logged in, silent
            container.frozen = True
            hang.unlink()
        return container.process is None or container.process.poll() is None

    def log_lines(self, gateway_id: str, since: datetime) -> Sequence[str]:
        container = self.containers.get(gateway_id)
        return list(container.markers) if container else []

    def close(self) -> None:
        """Stop every container (the VM shuts down)."""
        for gateway_id in list(self.containers):
            self.stop(gateway_id)
