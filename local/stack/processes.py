"""Start, probe and stop the local stack's server processes, each tracked by a pid file and a log file."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

_PR_SET_PDEATHSIG = 1


class StackError(RuntimeError):
    """A server of the local stack could not be started or stopped; the message says which and why."""


@dataclass(frozen=True)
class Server:
    """One running server process of the stack."""

    name: str
    pid: int
    port: int
    log: Path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file (empty if it does not exist)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# The launcher asks for the parent-death signal in the child and then execs the server (the pid stays the same).
# A preexec_fn would do the same, but it runs Python between fork and exec, which is unsafe in a process with
# gRPC threads: children died at start-up with "epoll_wait error: Bad file descriptor".
_LAUNCHER = (
    "import ctypes, os, signal, sys\n"
    "try:\n"
    f"    ctypes.CDLL('libc.so.6', use_errno=True).prctl({_PR_SET_PDEATHSIG}, signal.SIGTERM)\n"
    "except OSError:\n"
    "    pass\n"
    "if os.getppid() != int(sys.argv[1]):\n"  # the starter died before the signal was armed
    "    sys.exit(1)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def dying_with_parent(argv: Sequence[str]) -> list[str]:
    """``argv`` wrapped so the process gets SIGTERM when the calling process dies (even by SIGKILL)."""
    return [sys.executable, "-c", _LAUNCHER, str(os.getpid()), *argv]


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    port: int,
    state_dir: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    die_with_parent: bool = False,
) -> Server:
    """Start ``argv`` in its own session with output to ``logs/<name>.log`` and its pid in ``pids/<name>.pid``."""
    logs, pids = state_dir / "logs", state_dir / "pids"
    logs.mkdir(parents=True, exist_ok=True)
    pids.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{name}.log"
    with log_path.open("wb") as log:
        command = dying_with_parent(argv) if die_with_parent else list(argv)
        proc = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    (pids / f"{name}.pid").write_text(f"{proc.pid} {_start_ticks(proc.pid)}\n", encoding="utf-8")
    return Server(name=name, pid=proc.pid, port=port, log=log_path)


def _start_ticks(pid: int) -> str:
    # The process start time (clock ticks since boot) tells our process apart from a later one reusing its pid.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return "?"
    return stat.rsplit(")", 1)[-1].split()[19]


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live (non-zombie) process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        # A zombie (exited, not yet reaped) counts as gone.
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def wait_ready(server: Server, probe: Callable[[], bool], timeout_s: float) -> float:
    """Poll ``probe`` until it is true; return the seconds waited, or raise with the server's log tail."""
    started = time.monotonic()
    while True:
        try:
            if probe():
                return time.monotonic() - started
        except OSError:
            pass
        _reap(server.pid)
        if not pid_alive(server.pid):
            raise StackError(f"{server.name} exited during start-up; log {server.log}:\n{log_tail(server.log)}")
        if time.monotonic() - started > timeout_s:
            raise StackError(
                f"{server.name} not ready on port {server.port} after {timeout_s:.0f} s; "
                f"log {server.log}:\n{log_tail(server.log)}"
            )
        time.sleep(0.1)


def stop_pid(pid: int, timeout_s: float = 5.0) -> None:
    """SIGTERM ``pid``, then SIGKILL if it is still alive after ``timeout_s``."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _reap(pid)
        if not pid_alive(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    for _ in range(100):
        _reap(pid)
        if not pid_alive(pid):
            return
        time.sleep(0.02)
    raise StackError(f"process {pid} survived SIGKILL")


def read_pids(state_dir: Path) -> dict[str, int]:
    """The live processes recorded under ``state_dir/pids``: name → pid; stale pid files are removed."""
    found: dict[str, int] = {}
    for path in sorted((state_dir / "pids").glob("*.pid")):
        fields = path.read_text(encoding="utf-8").split()
        pid = int(fields[0]) if fields and fields[0].isdigit() else 0
        ticks = fields[1] if len(fields) > 1 else "?"
        if pid and pid_alive(pid) and ticks in ("?", _start_ticks(pid)):
            found[path.stem] = pid
        else:
            path.unlink(missing_ok=True)
    return found


def stop_recorded(state_dir: Path, timeout_s: float = 5.0) -> list[str]:
    """Stop every process recorded under ``state_dir/pids`` and remove its pid file; return their names."""
    stopped: list[str] = []
    for name, pid in read_pids(state_dir).items():
        stop_pid(pid, timeout_s)
        (state_dir / "pids" / f"{name}.pid").unlink(missing_ok=True)
        stopped.append(name)
    return stopped
