"""The stack plugin's event-loop guard: a test that leaves a loop running makes the next test fail at once, naming
the loop, instead of hundreds of ``asyncio.run`` failures later; a test that uses ``browser`` may run inside one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "stack.testing", "-p", "no:cacheprovider", "-q", "-rA", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    summary = [line for line in result.stdout.splitlines() if line.startswith(("PASSED", "FAILED", "ERROR"))]
    refused = "an earlier test left the event loop"
    assert summary[0] == "PASSED test_a_leaky.py::test_a_browser_test_runs_inside_its_loop", result.stdout
    assert [line.split(" ")[1] for line in summary[1:]] == [
        "test_a_leaky.py::test_the_next_test_of_the_module_without_browser_is_refused",
        "test_b_later.py::test_a_later_test_that_calls_asyncio_run"], result.stdout
    assert all(line.startswith("ERROR") for line in summary[1:]), result.stdout  # refused at setup, before running
    assert result.stdout.count(refused) == 2, result.stdout  # each of the two, naming the loop
    assert "cannot be called from a running event loop" not in result.stdout  # refused before failing far away
