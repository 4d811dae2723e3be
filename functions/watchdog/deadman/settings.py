"""The watchdog's settings (env prefix ``SPREADPILOT_``)."""

from __future__ import annotations

from datetime import time

from pydantic import Field

from spreadpilot.settings import CommonSettings


class WatchdogSettings(CommonSettings):
    """Thresholds and deadlines (New York times) of the watchdog's checks."""

    watchdog_heartbeat_max_age_s: int = Field(
        default=60, ge=1, description="an executor heartbeat older than this raises a CRITICAL alert"
    )
    watchdog_gateway_critical_after_s: int = Field(
        default=300, ge=0, description="a gateway disconnected longer than this is CRITICAL (WARNING before)"
    )
    watchdog_watch_from: time = Field(
        default=time(9, 25), description="ET time from which the executor and gateways must be alive (until the close)"
    )
    watchdog_signal_deadline: time = Field(default=time(9, 35), description="ET time by which a signal must exist")
    watchdog_orders_deadline: time = Field(
        default=time(10, 35), description="ET time by which every entry order of the day's signal must be final"
    )
