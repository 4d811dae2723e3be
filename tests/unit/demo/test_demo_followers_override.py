"""``make demo``: a scenario's own follower list is used unless ``FOLLOWERS=`` is given on the command line."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def demo_command(*make_args: str) -> str:
    """The demo command ``make demo`` would run (``make -n``: printed, not run)."""
    out = subprocess.run(["make", "-n", "demo", *make_args], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    [line] = [line for line in out.splitlines() if " -m demo" in line]
    return line


def test_without_followers_on_the_command_line_the_scenario_keeps_its_own_list() -> None:
    """Defect: the Makefile's default of 5 always replaced a scenario's own followers."""
    assert "--followers" not in demo_command("SCENARIO=local/scenarios/assignment-day.yaml")


def test_followers_given_on_the_command_line_override_the_scenario() -> None:
    assert "--followers 300" in demo_command("FOLLOWERS=300")
