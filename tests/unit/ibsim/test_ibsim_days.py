"""Several simulated days on one simulator: each New York date follows its own QQQ path."""

from __future__ import annotations

from datetime import datetime

from ibsim.config import SimConfig
from ibsim.control import handle
from ibsim.simulator import Simulator
from spreadpilot.clock import NEW_YORK


def test_each_day_follows_the_path_the_control_channel_gave_it() -> None:
    sim = Simulator(SimConfig(accounts=["DU001"], underlying=480.0))

    handle(sim, "POST", "/path", {"date": "2026-03-18", "underlying": {"09:30": 490.0, "16:00": 482.0}})

    assert sim.market.underlying(datetime(2026, 3, 18, 12, 45, tzinfo=NEW_YORK)) == 486.0  # halfway
    assert sim.market.underlying(datetime(2026, 3, 17, 12, 45, tzinfo=NEW_YORK)) == 480.0  # no path that day


def test_a_path_knot_may_fall_between_two_seconds() -> None:
    sim = Simulator(SimConfig(accounts=["DU001"], underlying=480.0))

    handle(sim, "POST", "/path", {"date": "2026-03-18", "underlying": {"15:59:59.900": 487.0, "16:00": 483.0}})

    assert sim.market.underlying(datetime(2026, 3, 18, 15, 59, 59, 500000, tzinfo=NEW_YORK)) == 487.0
    assert round(sim.market.underlying(datetime(2026, 3, 18, 15, 59, 59, 950000, tzinfo=NEW_YORK)), 6) == 485.0
