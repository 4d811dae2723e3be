"""``python -m supervisor``: run this VM's IB Gateway containers from Firestore until stopped (systemd unit
``spreadpilot-supervisor``, as root: it manages units and writes root-only login files)."""

from __future__ import annotations

import logging
import signal
import sys
import threading

from spreadpilot.logs import configure_logging
from spreadpilot.publisher import PubSubPublisher
from spreadpilot.secrets import Secrets
from spreadpilot.settings import load_settings
from spreadpilot.store import Store, firestore_client
from supervisor.capacity import capacity, memory_mb
from supervisor.probe import handshake_probe
from supervisor.runtime import SystemdDocker
from supervisor.settings import SupervisorSettings
from supervisor.supervisor import Supervisor

log = logging.getLogger("supervisor")


def main() -> int:
    """Settings → adapters → a reconcile pass every ``supervise_interval_s`` until SIGTERM."""
    settings = load_settings(SupervisorSettings)
    configure_logging("supervisor", settings.log_level)
    clock = settings.make_clock()
    total = memory_mb()
    supervisor = Supervisor(
        vm=settings.vm_name, capacity=capacity(total, settings.gateways_per_vm), memory_mb=total,
        store=Store(firestore_client(settings.project)), secrets=Secrets(settings.project),
        runtime=SystemdDocker(settings.ib_gateway_image, settings.gateway_restart_time),
        probe=handshake_probe(settings.probe_timeout_s),
        publisher=PubSubPublisher(settings.project), alerts_topic=settings.alerts_topic,
        hung_restart_after_s=settings.hung_restart_after_s)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    log.info("supervisor running", extra={"vm": settings.vm_name, "capacity": supervisor.capacity})
    while not stop.is_set():
        try:
            supervisor.reconcile(clock.now())
        except Exception:  # one failed pass (Firestore unreachable) is logged; the next one tries again
            log.exception("reconcile pass failed")
        stop.wait(settings.supervise_interval_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
