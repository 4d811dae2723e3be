"""A staged function installs with pip into a clean virtualenv and answers a CloudEvent through
functions-framework; the health probe completes the handshake with the IB simulator, and fails once it stops."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ibsim.testing import running_simulator

REPO = Path(__file__).resolve().parents[3]
PROBE = REPO / "gateway-vm" / "deploy" / "healthprobe.py"
FUNCTION = "watchdog"  # the smallest closure of pins among the declared functions


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_staged_function_installs_in_a_clean_venv_and_answers_a_cloudevent(  # type: ignore[no-untyped-def]
    stack, wheelhouse, tmp_path: Path
) -> None:
    subprocess.run([sys.executable, "-m", "stage", "--only", FUNCTION, "--out", str(tmp_path / "stage")],
                   check=True, cwd=REPO, capture_output=True)
    folder = tmp_path / "stage" / FUNCTION
    venv = tmp_path / "venv"
    # A clean venv without pip of its own; this interpreter's pip installs into it (`pip --python`), which saves
    # seeding pip and byte-compiling (the slow parts) without changing what gets installed.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    wheels = wheelhouse(folder / "requirements.txt")
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    # No index and no dependency resolution: only what requirements.txt pins gets installed, and `pip check`
    # then proves that those pins satisfy every requirement of every installed distribution.
    subprocess.run([*pip, "install", "--quiet", "--no-compile", "--no-index", "--no-deps", "--find-links",
                    str(wheels), "-r", str(folder / "requirements.txt")], check=True, capture_output=True)
    checked = subprocess.run([*pip, "check"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    server = subprocess.Popen(
        [str(venv / "bin" / "functions-framework"), "--source", str(folder / "main.py"), "--target", "on_tick",
         "--signature-type", "cloudevent", "--host", "127.0.0.1", "--port", str(port)],
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        envelope = {
            "message": {"data": base64.b64encode(json.dumps({"job": "watchdog"}).encode()).decode(),
                        "messageId": "1", "publishTime": "2026-03-17T14:00:00Z", "attributes": {"job": "watchdog"}},
            "subscription": f"projects/{os.environ['GOOGLE_CLOUD_PROJECT']}/subscriptions/watchdog-tick-push",
        }
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/projects/{os.environ['GOOGLE_CLOUD_PROJECT']}/topics/tick-watchdog",
            data=json.dumps(envelope).encode(), headers={"Content-Type": "application/json"}, method="POST",
        )
        status = None
        deadline = time.monotonic() + 60  # a fresh venv's first import is slow on a loaded machine
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our local server
                    status = response.status
                break
            except ConnectionError:
                time.sleep(0.1)
            except urllib.error.URLError as err:
                if not isinstance(err.reason, ConnectionRefusedError):
                    raise
                time.sleep(0.1)
        assert status == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
    installed = subprocess.run([*pip, "freeze"], capture_output=True, text=True, check=True)
    assert "ib-async" not in installed.stdout.lower()
    assert "reportlab" not in installed.stdout.lower()


def test_health_probe_is_healthy_against_the_simulator_and_unhealthy_once_it_stops() -> None:
    with running_simulator(["DU001", "DU002"]) as sim:
        healthy = subprocess.run([sys.executable, str(PROBE), "--port", str(sim.port), "--gateway", "advisor",
                                  "--timeout", "10"], capture_output=True, text=True, check=False)
        port = sim.port
    stopped = subprocess.run([sys.executable, str(PROBE), "--port", str(port), "--gateway", "advisor",
                              "--timeout", "3"], capture_output=True, text=True, check=False)
    verdict = json.loads(healthy.stdout)
    assert healthy.returncode == 0
    assert verdict["healthy"] is True
    assert verdict["accounts"] == 2
    assert verdict["next_valid_id"] is not None
    assert stopped.returncode == 1
    assert json.loads(stopped.stdout)["healthy"] is False
