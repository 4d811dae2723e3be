"""The TWS API handshake as the supervisor's probe (the health probe's own code: an open port proves nothing)."""

from __future__ import annotations

from healthprobe import ProbeError, handshake
from spreadpilot.models import Gateway
from supervisor.observe import Probe

CLIENT_ID = 998  # distinct from the executor's (1) and the probe timer's (999)


def handshake_probe(timeout_s: float) -> Probe:
    """A ``Probe``: the accounts of a completed handshake, or None and why not."""

    def probe(gateway: Gateway) -> tuple[list[str] | None, str]:
        try:
            result = handshake(gateway.host, gateway.port, CLIENT_ID, timeout_s)
        except ProbeError as err:
            return None, str(err)
        return list(result.accounts), ""

    return probe
