"""``python -m gatewayvm --vm local --state DIR [--capacity N] [--two-factor ID,...] [--journals DIR]``: the real
supervisor with simulator containers, until SIGTERM (each pass's statuses are also printed, one JSON line)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path

from gatewayvm.runtime import IbsimContainers
from spreadpilot.clock import clock_from_env
from spreadpilot.logs import configure_logging
from spreadpilot.publisher import PubSubPublisher
from spreadpilot.secrets import Secrets
from spreadpilot.store import Store, firestore_client
from supervisor.probe import handshake_probe
from supervisor.supervisor import Supervisor

log = logging.getLogger("gatewayvm")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gatewayvm", description=__doc__)
    parser.add_argument("--project", default="spreadpilot-local")
    parser.add_argument("--vm", default="local", help="this VM's name (gateways/{id}.vm)")
    parser.add_argument("--state", type=Path, required=True, help="folder for the containers' files")
    parser.add_argument("--journals", type=Path, help="folder for each simulator's journal (ibsim-<id>.jsonl)")
    parser.add_argument("--capacity", type=int, default=6, help="gateways this VM may run")
    parser.add_argument("--two-factor", default="", help="gateway ids whose login waits for a 2FA approval")
    parser.add_argument("--refuse", default="", help="usernames IBKR refuses")
    parser.add_argument("--interval", type=float, default=0.5, help="real seconds between passes")
    parser.add_argument("--hung-restart-after", type=float, default=300.0,
                        help="business seconds a logged-in gateway's API may not answer before it is restarted")
    args = parser.parse_args(argv)
    configure_logging("supervisor", "INFO")
    runtime = IbsimContainers(args.state, args.journals, [g for g in args.two_factor.split(",") if g],
                              [u for u in args.refuse.split(",") if u])
    supervisor = Supervisor(vm=args.vm, capacity=args.capacity, memory_mb=args.capacity * 1024 + 1536,
                            store=Store(firestore_client(args.project)), secrets=Secrets(args.project),
                            runtime=runtime, probe=handshake_probe(3.0), publisher=PubSubPublisher(args.project),
                            hung_restart_after_s=args.hung_restart_after)
    clock = clock_from_env()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.is_set():
            try:
                statuses = supervisor.reconcile(clock.now())
                print(json.dumps({gid: str(s.state) for gid, s in sorted(statuses.items())}), flush=True)
            except Exception:  # a pass that failed (Firestore restarting) is logged; the next one tries again
                log.exception("reconcile pass failed")
            stop.wait(args.interval)
    finally:
        runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
