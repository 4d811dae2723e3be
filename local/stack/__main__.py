"""`python -m stack up|down|status`: run the local stack in the background (`make up` / `make down`)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from spreadpilot.resources import resources
from stack.emulators import EmulatorsMissing
from stack.local_stack import DEFAULT_PROJECT, LocalStack
from stack.processes import StackError, read_pids, stop_recorded

ROOT = Path(__file__).resolve().parents[2]


def _up(state: Path, project: str, with_functions: bool) -> int:
    running = LocalStack.attach(ROOT, state)
    if running is not None:
        print(f"stack: already up (reusing it); env in {state / 'stack.env'}")
        return 0
    if read_pids(state):
        print(f"stack: partly running from {state}; run `make down` first", file=sys.stderr)
        return 1
    print("stack: starting Firestore and Pub/Sub emulators, Secret Manager, Sheets and SendGrid/Telegram fakes…")
    begun = time.monotonic()
    try:
        stack = LocalStack.start(ROOT, state_dir=state, project=project)
    except EmulatorsMissing as missing:
        print(f"stack: cannot start.\n{missing}", file=sys.stderr)
        return 1
    except StackError as error:
        print(f"stack: failed to start: {error}", file=sys.stderr)
        return 1
    for name, server in stack.servers.items():
        ready = stack.timings.get(name)
        print(f"  {name:<15} pid {server.pid:<8} port {server.port:<6} ready at {ready} s  log {server.log}")
    if with_functions:
        for name in resources().functions:
            if (ROOT / "functions" / name / "main.py").is_file():
                try:
                    print(f"  function {name:<15} {stack.serve_function(name)}")
                except StackError as error:
                    print(f"  function {name}: {error}", file=sys.stderr)
            else:
                print(f"  function {name:<15} not built yet")
    print(f"stack: up in {time.monotonic() - begun:.1f} s; `source {state / 'stack.env'}` to point clients at it")
    return 0


def _down(state: Path) -> int:
    running = LocalStack.attach(ROOT, state)
    if running is not None:
        names = list(running.servers)
        running.stop()
    else:
        names = stop_recorded(state)
        for leftover in ("stack.env", "stack.json"):
            (state / leftover).unlink(missing_ok=True)
    print(f"stack: stopped {', '.join(names)}" if names else "stack: nothing was running")
    return 0


def _status(state: Path) -> int:
    running = read_pids(state)
    if not running:
        print("stack: down")
        return 1
    for name, pid in running.items():
        print(f"  {name:<22} pid {pid}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run ``up``, ``down`` or ``status``."""
    parser = argparse.ArgumentParser(prog="python -m stack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".local", help="pids, logs and stack.env go here")
    parser.add_argument("--project", default=DEFAULT_PROJECT)
    parser.add_argument("--with-functions", action="store_true", help="also serve every built function")
    args = parser.parse_args(argv)
    if args.command == "up":
        return _up(args.state_dir, args.project, args.with_functions)
    if args.command == "down":
        return _down(args.state_dir)
    return _status(args.state_dir)


if __name__ == "__main__":
    sys.exit(main())
