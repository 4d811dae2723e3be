"""Processes of the stack are tracked by pid file and stopped by pid, never by name."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from stack.processes import StackError, pid_alive, read_pids, spawn, stop_pid, stop_recorded, wait_ready

IGNORES_SIGTERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"
)


def test_stop_escalates_to_sigkill_when_sigterm_is_ignored(tmp_path: Path) -> None:
    server = spawn("stubborn", [sys.executable, "-c", IGNORES_SIGTERM], port=0, state_dir=tmp_path)
    wait_ready(server, lambda: "up" in server.log.read_text(), timeout_s=10)

    stop_pid(server.pid, timeout_s=0.3)

    assert not pid_alive(server.pid)


def test_stop_recorded_stops_and_forgets_every_pid_file(tmp_path: Path) -> None:
    servers = [
        spawn(name, [sys.executable, "-c", "import time; time.sleep(60)"], port=0, state_dir=tmp_path)
        for name in ("one", "two")
    ]

    stopped = stop_recorded(tmp_path)

    assert sorted(stopped) == ["one", "two"]
    assert [s.name for s in servers if pid_alive(s.pid)] == []
    assert list((tmp_path / "pids").iterdir()) == []


def test_a_stale_pid_file_is_dropped_not_trusted(tmp_path: Path) -> None:
    (tmp_path / "pids").mkdir()
    (tmp_path / "pids" / "ghost.pid").write_text("999999 12345\n")

    assert read_pids(tmp_path) == {}
    assert not (tmp_path / "pids" / "ghost.pid").exists()


def test_a_server_that_exits_during_start_up_fails_with_its_log(tmp_path: Path) -> None:
    server = spawn("broken", [sys.executable, "-c", "raise SystemExit('no port for you')"], port=0, state_dir=tmp_path)

    with pytest.raises(StackError, match="no port for you"):
        wait_ready(server, lambda: False, timeout_s=10)


def test_a_server_that_never_gets_ready_times_out_with_its_log(tmp_path: Path) -> None:
    server = spawn(
        "slow",
        [sys.executable, "-c", "print('warming up', flush=True); import time; time.sleep(60)"],
        port=0,
        state_dir=tmp_path,
    )
    try:
        with pytest.raises(StackError, match=r"(?s)not ready.*warming up"):
            wait_ready(server, lambda: False, timeout_s=1)
    finally:
        stop_pid(server.pid)
