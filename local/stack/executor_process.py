"""``python -m executor`` as a child process for tests and benchmarks, and a polling wait."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from iamcheck.accounts import EXECUTOR, account_email
from spreadpilot.clock import SimClock


class ExecutorProcess:
    """The real executor on the given simulated clock; ``settings`` become ``SPREADPILOT_<NAME>`` variables."""

    def __init__(self, clock: SimClock, log_path: Path, env: Mapping[str, str] | None = None,
                 **settings: object) -> None:
        env = dict(os.environ) | dict(env or {})
        # The gateway VM's service account, as in production (the tests themselves are the project owner).
        env["LOCAL_IDENTITY"] = account_email(EXECUTOR, env.get("GOOGLE_CLOUD_PROJECT", "spreadpilot-local"))
        env.update({"SPREADPILOT_CLOCK": clock.spec(), "SPREADPILOT_RECONNECT_MIN_S": "0.2",
                    "SPREADPILOT_RECONNECT_MAX_S": "1", "SPREADPILOT_LOG_LEVEL": "INFO"})
        env.update({f"SPREADPILOT_{k.upper()}": str(v) for k, v in settings.items()})
        self.log_path = log_path
        self._log = log_path.open("a", encoding="utf-8")
        self.process = subprocess.Popen([sys.executable, "-m", "executor"], env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT)

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()

    def terminate(self, timeout_s: float = 30.0) -> int:
        """SIGTERM, as systemd stops it; returns the exit code."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout_s)
        self._log.close()
        return code

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited within ``timeout_s``."""
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()

    def log(self) -> str:
        """Everything the process logged."""
        return self.log_path.read_text(encoding="utf-8")


def wait_for(condition: Callable[[], bool], timeout_s: float = 60.0, what: str = "condition") -> None:
    """Poll ``condition`` until it holds; ``AssertionError`` naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
