#!/usr/bin/env python3
"""Run the executor under systemd's watchdog: ping WATCHDOG=1 only while its Firestore heartbeat is fresh.

The executor writes ``heartbeats/executor`` (field ``at``) every few seconds. This supervisor starts
``python -m executor`` as its child, tells systemd READY=1, and on every check sends WATCHDOG=1 if the heartbeat is
younger than ``--max-age``; a hung executor (alive process, no heartbeat) therefore stops the pings and systemd's
``WatchdogSec`` restarts the whole unit. If the child exits, the supervisor exits with its code (``Restart=always``).
Each fresh heartbeat is logged as ``{"component": "executor-watchdog", "message": "heartbeat"}`` for the
log-based metric that the "heartbeat missing" alert watches.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol


class HeartbeatSource(Protocol):
    """Where the executor's last heartbeat time is read from."""

    def last_beat(self) -> datetime | None:
        """The heartbeat's ``at``, or None if there is none."""
        ...


class FirestoreHeartbeat:
    """``heartbeats/executor`` in Firestore (the executor's venv has the client)."""

    def __init__(self, project: str, document: str = "heartbeats/executor") -> None:
        from google.cloud import firestore  # imported here: the unit tests use a fake source

        self.ref = firestore.Client(project=project).document(document)

    def last_beat(self) -> datetime | None:
        """The heartbeat's ``at`` (a timestamp or ISO text), or None."""
        snap = self.ref.get()
        return parse_at((snap.to_dict() or {}).get("at")) if snap.exists else None


def parse_at(value: object) -> datetime | None:
    """A heartbeat time as an aware datetime (Firestore timestamp or ISO text)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def sd_notify(state: str, socket_path: str | None = None) -> bool:
    """Send one state line to systemd's notify socket; False when not running under systemd."""
    path = socket_path or os.environ.get("NOTIFY_SOCKET", "")
    if not path:
        return False
    address = "\0" + path[1:] if path.startswith("@") else path
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(state.encode(), address)
    return True


def log(message: str, severity: str = "INFO", **fields: object) -> None:
    """One JSON line on stdout (journald → Ops Agent → Cloud Logging)."""
    entry = {"severity": severity, "component": "executor-watchdog", "message": message, **fields}
    print(json.dumps(entry, default=str), flush=True)


def check_once(source: HeartbeatSource, now: datetime, max_age_s: float, notify: Callable[[str], bool]) -> bool:
    """Ping the watchdog if the heartbeat is fresh; True when it was."""
    try:
        beat = source.last_beat()
    except Exception as err:
        log("heartbeat read failed", "WARNING", error=repr(err))
        return False
    age = (now - beat).total_seconds() if beat else None
    if age is not None and age <= max_age_s:
        notify("WATCHDOG=1")
        log("heartbeat", age_s=round(age, 1))
        return True
    log("heartbeat stale", "WARNING", age_s=None if age is None else round(age, 1))
    return False


def supervise(command: list[str], source: HeartbeatSource, interval_s: float, max_age_s: float) -> int:
    """Run ``command`` until it exits; check the heartbeat every ``interval_s``."""
    child = subprocess.Popen(command)  # noqa: S603 - the command comes from our own systemd unit
    sd_notify("READY=1")
    log("executor started", pid=child.pid)
    try:
        while True:
            try:
                return child.wait(timeout=interval_s)
            except subprocess.TimeoutExpired:
                check_once(source, datetime.now(UTC), max_age_s, sd_notify)
    finally:
        if child.poll() is None:
            child.terminate()
            child.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    """``executor_watchdog.py [--interval S] [--max-age S] -- python -m executor``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=15.0, help="seconds between heartbeat checks")
    parser.add_argument("--max-age", type=float, default=90.0, help="a heartbeat older than this is stale")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the executor command, after --")
    args = parser.parse_args(argv)
    command = [c for c in args.command if c != "--"] or [sys.executable, "-m", "executor"]
    project = os.environ.get("GOOGLE_CLOUD_PROJECT", "")
    if not project:
        log("GOOGLE_CLOUD_PROJECT is not set", "ERROR")
        return 2
    return supervise(command, FirestoreHeartbeat(project), args.interval, args.max_age)


if __name__ == "__main__":
    sys.exit(main())
