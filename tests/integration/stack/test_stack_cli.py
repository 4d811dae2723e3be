"""`python -m stack up` / `down` (what `make up` / `make down` run) leave nothing running, and preflight explains."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from stack.processes import pid_alive

ROOT = Path(__file__).resolve().parents[3]


def _stack(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stack", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def _pids(state: Path) -> dict[str, int]:
    return {p.stem: int(p.read_text().split()[0]) for p in (state / "pids").glob("*.pid")}


def test_up_writes_env_and_down_stops_every_process_it_started(tmp_path: Path) -> None:
    state = tmp_path / "local"
    try:
        up = _stack("up", "--state-dir", str(state))
        pids = _pids(state)
        again = _stack("up", "--state-dir", str(state))
        env_file = (state / "stack.env").read_text()
    finally:
        down = _stack("down", "--state-dir", str(state))

    assert up.returncode == 0, up.stderr
    assert set(pids) == {"firestore", "pubsub", "secret_manager", "sheets", "sink"}
    assert again.returncode == 0
    assert "already up" in again.stdout
    for name in (
        "FIRESTORE_EMULATOR_HOST",
        "PUBSUB_EMULATOR_HOST",
        "GOOGLE_CLOUD_PROJECT",
        "SECRET_MANAGER_EMULATOR_HOST",
        "SHEETS_API_URL",
        "SENDGRID_API_URL",
        "TELEGRAM_API_URL",
    ):
        assert f"export {name}=" in env_file
    assert down.returncode == 0, down.stderr
    assert [name for name, pid in pids.items() if pid_alive(pid)] == []
    assert list((state / "pids").glob("*.pid")) == []
    assert not (state / "stack.env").exists()


def test_down_with_nothing_running_says_so(tmp_path: Path) -> None:
    down = _stack("down", "--state-dir", str(tmp_path))

    assert down.returncode == 0
    assert "nothing was running" in down.stdout


def test_preflight_names_what_is_missing_and_how_to_get_it(tmp_path: Path) -> None:
    env = os.environ | {"CLOUDSDK_ROOT": str(tmp_path / "no-sdk")}

    result = subprocess.run(
        [sys.executable, "-m", "stack.preflight"], capture_output=True, text=True, env=env, timeout=60, check=False
    )

    assert result.returncode == 1
    assert "Firestore emulator jar not found" in result.stderr
    assert "gcloud components install cloud-firestore-emulator pubsub-emulator" in result.stderr
    assert "google-cloud-cli-firestore-emulator" in result.stderr


def test_preflight_passes_on_this_machine() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stack.preflight"], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
