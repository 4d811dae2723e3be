"""The gateway VM as a child process for tests and the demo: ``python -m gatewayvm`` as the VM's service account."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from iamcheck.accounts import EXECUTOR, account_email
from stack.processes import dying_with_parent


class GatewayVmProcess:
    """The real supervisor over simulator containers, with the stack's servers from the environment."""

    def __init__(self, state: Path, *, project: str, vm: str = "local", capacity: int = 6,
                 two_factor: Sequence[str] = (), refuse: Sequence[str] = (), journals: Path | None = None,
                 env: dict[str, str] | None = None, hung_restart_after_s: float = 300.0) -> None:
        self.state = state
        state.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "gatewayvm", "--project", project, "--vm", vm, "--state", str(state),
                "--capacity", str(capacity), "--two-factor", ",".join(two_factor), "--refuse", ",".join(refuse),
                "--hung-restart-after", str(hung_restart_after_s)]
        if journals is not None:
            argv += ["--journals", str(journals)]
        env = dict(os.environ) | (env or {}) | {"LOCAL_IDENTITY": account_email(EXECUTOR, project),
                                                "PYTHONUNBUFFERED": "1"}
        self.log_path = state / "supervisor.log"
        self._log = self.log_path.open("a", encoding="utf-8")
        self.process = subprocess.Popen(dying_with_parent(argv), env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        """Until its first pass is done (its VM report is in Firestore); RuntimeError if it exited instead."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(line.startswith("{") for line in self.log().splitlines()):
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"the gateway VM exited ({self.process.returncode}):\n{self.log()[-2000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"the gateway VM made no pass in {timeout_s} s:\n{self.log()[-2000:]}")

    def approve(self, gateway_id: str) -> None:
        """The login's owner approves the 2FA notification on IBKR Mobile."""
        (self.state / f"{gateway_id}.approved").touch()

    def hang(self, gateway_id: str) -> None:
        """The gateway's IB Gateway hangs: its process stops answering (its port still accepts connections)."""
        (self.state / f"{gateway_id}.hang").touch()

    def login(self, gateway_id: str) -> dict[str, Any] | None:
        """What the gateway's container was started with (username, SHA-256 of the password, port), or None."""
        path = self.state / f"{gateway_id}.login.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def log(self) -> str:
        """Everything the supervisor logged."""
        return self.log_path.read_text(encoding="utf-8")

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM (it stops its containers), SIGKILL if it does not exit."""
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()
