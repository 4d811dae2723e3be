"""The stack plugin's event-loop guard: a test that leaves a loop running makes the next test fail at once, naming
the loop, instead of hundreds of ``asyncio.run`` failures later; a test that uses ``browser`` may run inside one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

LEAKY = '''
import asyncio
import pytest

@pytest.fixture(scope="session")
def browser():
    loop = asyncio.new_event_loop()
    asyncio.events._set_running_loop(loop)  # what a sync_playwright kept open for the session leaves behind
    yield loop

def test_a_browser_test_runs_inside_its_loop(browser):
    assert asyncio.get_running_loop() is browser

def test_the_next_test_of_the_module_without_browser_is_refused():
    pass
'''

LATER = '''
import asyncio

def test_a_later_test_that_calls_asyncio_run():
    asyncio.run(asyncio.sleep(0))
'''


def test_a_loop_left_running_fails_the_next_test_by_name_and_a_browser_test_may_run_inside_one(
        tmp_path: Path) -> None:
    (tmp_path / "test_a_leaky.py").write_text(LEAKY, encoding="utf-8")
    (tmp_path / "test_b_later.py").write_text(LATER, encoding="utf-8")
    report = tmp_path / "report.xml"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "stack.testing", "-p", "no:cacheprovider", "-q",
         f"--junit-xml={report}", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    # Read per test from the JUnit report: the terminal's summary lines are cut to its width, which CI sets.
    outcomes = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):  # noqa: S314  # our own pytest wrote it
        faults = [child for child in case if child.tag in ("error", "failure", "skipped")]
        outcomes[case.get("name")] = (faults[0].tag, faults[0].get("message", "")) if faults else ("passed", "")
    refused = "an earlier test left the event loop"
    assert outcomes["test_a_browser_test_runs_inside_its_loop"] == ("passed", ""), result.stdout
    for name in ("test_the_next_test_of_the_module_without_browser_is_refused",
                 "test_a_later_test_that_calls_asyncio_run"):
        kind, message = outcomes[name]
        assert kind == "error", (name, result.stdout)  # refused at setup, before running
        assert refused in message, (name, message)
        assert "running=" in message, (name, message)  # naming the loop
    assert len(outcomes) == 3, outcomes
    assert "cannot be called from a running event loop" not in result.stdout  # refused before failing far away
