"""Helpers for other tests: run a simulator as a subprocess (``running_simulator``) or in-process
(``simulator_in_process``), on a free port, with a fixed simulated clock if asked.

    with running_simulator(["DU001", "DU002"], start="2026-03-17T10:00:00-04:00") as sim:
        ib.connect(sim.host, sim.port, clientId=1)
        sim.set_price(481.0); sim.inject("disconnect", seconds=5); sim.journal()  # list of dicts

    async with simulator_in_process(SimConfig(accounts=["DU001"], port=0), start=...) as sim:  # a Simulator
        await ib.connectAsync("127.0.0.1", sim.port, clientId=1)
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ibsim.config import SimConfig
from ibsim.simulator import Simulator
from spreadpilot.clock import CLOCK_ENV, SimClock

READY_TIMEOUT_S = 20.0


def sim_clock(start: str, speed: float = 1.0) -> SimClock:
    """A simulated clock that reads ``start`` (ISO with offset) now and runs ``speed`` times faster."""
    return SimClock(datetime.fromisoformat(start), speed, time.time())


@dataclass
class SimulatorProcess:
    """A running ``python -m ibsim`` and how to reach it."""

    host: str
    port: int
    control_url: str
    journal_path: Path
    accounts: list[str]
    process: subprocess.Popen[str]

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """GET (no body) or POST JSON to the control endpoint; returns the decoded answer."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the URL is the local control endpoint we started
            self.control_url + path, data=data, method="POST" if data else "GET",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - same local endpoint
            return json.loads(response.read())

    def state(self) -> dict[str, Any]:
        """The simulator's state."""
        return dict(self.control("/state"))

    def set_price(self, price: float | None) -> None:
        """Pin QQQ's price."""
        self.control("/price", {"price": price})

    def inject(self, kind: str, **params: Any) -> Any:
        """Inject a fault now."""
        return self.control("/fault", {"kind": kind, **params})

    def journal(self) -> list[dict[str, Any]]:
        """Every journal line written so far."""
        if not self.journal_path.exists():
            return []
        return [json.loads(ln) for ln in self.journal_path.read_text(encoding="utf-8").splitlines() if ln]


@contextlib.contextmanager
def running_simulator(
    accounts: Sequence[str] | str,
    *,
    start: str | None = None,
    speed: float = 1.0,
    journal_path: str | Path | None = None,
    scenario: str | Path | None = None,
    extra_args: Sequence[str] = (),
) -> Iterator[SimulatorProcess]:
    """Start ``python -m ibsim`` on free ports (simulated clock at ``start`` if given); stop it on exit."""
    spec = accounts if isinstance(accounts, str) else ",".join(accounts)
    with tempfile.TemporaryDirectory(prefix="ibsim-") as tmp:
        journal = Path(journal_path) if journal_path else Path(tmp) / "journal.jsonl"
        args = [sys.executable, "-m", "ibsim", "--host", "127.0.0.1", "--port", "0", "--control-port", "0",
                "--accounts", spec, "--journal", str(journal), *extra_args]
        if scenario:
            args += ["--scenario", str(scenario)]
        env = dict(os.environ)
        if start:
            env[CLOCK_ENV] = sim_clock(start, speed).spec()
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        try:
            ports = _wait_ready(proc)
            yield SimulatorProcess("127.0.0.1", ports["port"], f"http://127.0.0.1:{ports['control_port']}",
                                   journal, _expand(spec), proc)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(proc: subprocess.Popen[str]) -> dict[str, int]:
    assert proc.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"ibsim exited before it was ready (exit code {proc.poll()})")
        if line.startswith("ibsim ready"):
            pairs = dict(item.split("=", 1) for item in line.split()[2:])
            return {"port": int(pairs["port"]), "control_port": int(pairs["control_port"])}
    raise RuntimeError("ibsim did not become ready in time")


def _expand(spec: str) -> list[str]:
    from ibsim.__main__ import parse_accounts

    return parse_accounts(spec, None)


@contextlib.asynccontextmanager
async def simulator_in_process(config: SimConfig, *, start: str | None = None,
                               speed: float = 1.0) -> AsyncIterator[Simulator]:
    """Run a Simulator on the current event loop (port 0 in ``config`` picks a free one)."""
    sim = Simulator(config, sim_clock(start, speed) if start else None)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()
