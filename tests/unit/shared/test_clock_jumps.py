"""A simulated clock over several trading days: the night between them passes in an instant."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from spreadpilot.clock import NEW_YORK, SimClock, parse_clock
from spreadpilot.errors import ConfigError

DAY1 = datetime(2026, 3, 17, 9, 20, tzinfo=NEW_YORK)
DAY2 = datetime(2026, 3, 18, 9, 20, tzinfo=NEW_YORK)


def test_after_a_jump_the_clock_runs_on_from_the_next_morning() -> None:
    now = time.time()
    clock = SimClock(DAY1, 600, now - 100.0, jumps=((now - 1.0, DAY2),))

    elapsed = (clock.now() - DAY2).total_seconds()

    assert 600 <= elapsed < 1200  # one real second since the jump: ten simulated minutes into the second day


def test_real_times_of_both_days_and_the_spec_round_trip() -> None:
    clock = SimClock(DAY1, 120, 1_700_000_000.0, jumps=((1_700_000_300.0, DAY2),))

    assert clock.real_epoch_at(datetime(2026, 3, 17, 9, 30, tzinfo=NEW_YORK)) == 1_700_000_005.0
    assert clock.real_epoch_at(datetime(2026, 3, 18, 9, 30, tzinfo=NEW_YORK)) == 1_700_000_305.0
    assert parse_clock(clock.spec()) == clock


def test_a_jump_before_the_anchor_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="SPREADPILOT_CLOCK"):
        SimClock(DAY1, 120, 1_700_000_000.0, jumps=((1_600_000_000.0, DAY2),))
