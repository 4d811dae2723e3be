"""The executor's systemd supervisor against the real Firestore emulator and a real notify socket: it pings the
watchdog while ``heartbeats/executor`` is fresh and exits with its child's code."""

from __future__ import annotations

import os
import socket
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from google.cloud import firestore

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "gateway-vm" / "deploy"))
import executor_watchdog


def received(sock: socket.socket) -> list[bytes]:
    messages = []
    sock.settimeout(0.2)
    try:
        while True:
            messages.append(sock.recv(64))
    except TimeoutError:
        return messages


def test_supervisor_pings_while_the_firestore_heartbeat_is_fresh_and_returns_the_childs_exit_code(
    clean_stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    project = os.environ["GOOGLE_CLOUD_PROJECT"]
    db = firestore.Client(project=project)
    db.collection("heartbeats").document("executor").set({"at": datetime.now(UTC).isoformat()})
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    child = [sys.executable, "-c", "import time, sys; time.sleep(1.5); sys.exit(3)"]
    code = executor_watchdog.supervise(child, executor_watchdog.FirestoreHeartbeat(project), 0.3, 60)
    messages = received(sock)
    sock.close()
    assert code == 3
    assert messages[0] == b"READY=1"
    assert b"WATCHDOG=1" in messages[1:]


def test_supervisor_withholds_pings_when_the_firestore_heartbeat_is_stale(
    clean_stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    project = os.environ["GOOGLE_CLOUD_PROJECT"]
    db = firestore.Client(project=project)
    stale = datetime.now(UTC) - timedelta(minutes=10)
    db.collection("heartbeats").document("executor").set({"at": stale.isoformat()})
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    child = [sys.executable, "-c", "import time; time.sleep(1.2)"]
    code = executor_watchdog.supervise(child, executor_watchdog.FirestoreHeartbeat(project), 0.3, 60)
    messages = received(sock)
    sock.close()
    assert code == 0
    assert messages == [b"READY=1"]
