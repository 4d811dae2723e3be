"""The supervisor's settings (environment variables ``SPREADPILOT_*``, from ``/etc/spreadpilot/supervisor.env``)."""

from __future__ import annotations

from pydantic import Field

from spreadpilot.settings import CommonSettings


class SupervisorSettings(CommonSettings):
    """Which VM this is, how many gateways it may run, and how its IB Gateway containers are made."""

    vm_name: str = Field(min_length=1, max_length=63, description="this VM's name (gateways/{id}.vm)")
    gateways_per_vm: int = Field(
        default=0, ge=0, le=64, description="most IB Gateway containers on this VM; 0 = from its memory"
    )
    ib_gateway_image: str = Field(default="ghcr.io/gnzsnz/ib-gateway:stable", description="the IB Gateway image")
    gateway_restart_time: str = Field(default="11:45 PM", description="IBC's daily restart, America/New_York")
    supervise_interval_s: float = Field(default=10.0, gt=0, le=300, description="real seconds between passes")
    probe_timeout_s: float = Field(default=15.0, gt=0, le=120, description="real seconds for one API handshake")
    alerts_topic: str = Field(default="alerts", description="topic the supervisor publishes AlertMessage to")
    hung_restart_after_s: float = Field(
        default=300.0, gt=0, description="business seconds a logged-in gateway's API may not answer before it is "
        "restarted (outside 09:25-16:15 ET; inside, after an operator approves it in the web app)")
