"""pytest plugin: the local stack as fixtures. ``tests/conftest.py`` registers it (``pytest_plugins``).

The emulators start once per test session; a missing emulator fails the test with the install instructions of
``python -m stack.preflight`` (never a skip). Every server dies with the test process, even if it is killed.

Fixtures
  ``stack`` (session) → ``LocalStack``
      Started once. Its env vars are put into ``os.environ`` for the session, so the official clients and
      ``spreadpilot`` adapters find the servers: ``FIRESTORE_EMULATOR_HOST``, ``PUBSUB_EMULATOR_HOST``,
      ``GOOGLE_CLOUD_PROJECT`` (``spreadpilot-local``), ``SECRET_MANAGER_EMULATOR_HOST``, ``SHEETS_API_URL``,
      ``SENDGRID_API_URL``, ``TELEGRAM_API_URL``. Declared topics and pull subscriptions (with dead-letter policies)
      exist. Useful members: ``env``, ``project``, ``servers``, ``timings``, ``serve_function(name)``,
      ``serve_source(name, source, target, signature_type)``, ``create_push_subscription(sub, topic, url)``,
      ``tap(topic)``, ``pubsub`` (``publish``, ``pull``), ``sheets``, ``sink``, ``wipe_firestore()``, ``reset()``.
  ``clean_stack`` (function) → ``LocalStack``
      The same stack after ``reset()``: Firestore emptied, sink and Sheets fake cleared, messages queued in the
      declared and push subscriptions dropped (a seek to now: subscriptions, endpoints and open streams stay).
  ``serve_function`` (session) → ``(name, env=None) -> url``
      Serves ``functions/<name>/main.py`` as declared in resources.yaml (functions-framework's app in one process,
      see ``stack.function_host``; its log is ``stack.state_dir / "logs" / "function-<name>.log"``), once per
      session (again if it died), and (re)creates its push subscriptions to it.
  ``tap`` (function) → ``(topic) -> TopicTap``
      A fresh pull subscription per call (a reused one can stall ~60 s). Make it *before* the messages are
      published, then ``tap.pull(count, timeout_s=10) -> list[PulledMessage]`` (synchronous pull, acked;
      ``data``, ``attributes``, ``message_id``, ``ordering_key``, ``delivery_attempt``). Deleted at teardown.
  ``sink`` (function) → ``fakes.control.SinkControl``: ``emails()``, ``telegram_messages()``,
      ``received(kind, method, include_failed)``, ``fail_next(kind, count, status, retry_after)``, ``clear()``.
  ``sheets`` (function) → ``fakes.control.SheetsControl``: ``create_spreadsheet(tabs) -> id``,
      ``set_tab_values``, ``tab_values``, ``fail_next(count, status=429)``, ``set_read_quota(n)``, ``requests()``.
  ``firestore_db`` (function) → ``google.cloud.firestore.Client`` on the emulator.

Guard
  A test that starts while an earlier test left an event loop running in the main thread (a ``sync_playwright``
  kept open past its module, a loop stopped by an exception) fails at once, naming the loop: otherwise every later
  ``asyncio.run`` fails with "cannot be called from a running event loop", far from the cause. Only tests that use
  the ``browser`` fixture run inside Playwright's loop, so only they may find one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fakes.control import SheetsControl, SinkControl
from stack.emulators import EmulatorsMissing
from stack.local_stack import LocalStack
from stack.processes import StackError
from stack.topology import TopicTap

if TYPE_CHECKING:
    from google.cloud import firestore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The local stack, started once per session, its env vars in ``os.environ``."""
    try:
        running = LocalStack.start(ROOT, state_dir=tmp_path_factory.mktemp("stack"), die_with_parent=True)
    except EmulatorsMissing as missing:
        pytest.fail(f"the local stack cannot start.\n{missing}", pytrace=False)
    except StackError as error:
        pytest.fail(f"the local stack failed to start: {error}", pytrace=False)
    patch = pytest.MonkeyPatch()
    for key, value in running.env.items():
        patch.setenv(key, value)
    try:
        yield running
    finally:
        patch.undo()
        running.stop()


@pytest.fixture
def clean_stack(stack: LocalStack) -> LocalStack:
    """The session's stack with Firestore, the fakes and the subscriptions' queued messages emptied."""
    stack.reset()
    return stack


@pytest.fixture(scope="session")
def serve_function(stack: LocalStack) -> Callable[..., str]:
    """``serve_function(name, env=None) -> url``: serve a declared function and create its push subscriptions."""

    def serve(name: str, env: dict[str, str] | None = None) -> str:
        return stack.serve_function(name, env)

    return serve


@pytest.fixture
def tap(stack: LocalStack) -> Iterator[Callable[[str], TopicTap]]:
    """``tap(topic) -> TopicTap``: a fresh pull subscription per call, deleted after the test."""
    made: list[TopicTap] = []

    def make(topic: str) -> TopicTap:
        made.append(stack.tap(topic))
        return made[-1]

    yield make
    for one in made:
        one.close()


@pytest.fixture
def sink(stack: LocalStack) -> SinkControl:
    """Control API of the SendGrid/Telegram sink."""
    return stack.sink


@pytest.fixture
def sheets(stack: LocalStack) -> SheetsControl:
    """Control API of the Sheets fake."""
    return stack.sheets


@pytest.fixture
def firestore_db(stack: LocalStack) -> firestore.Client:
    """An official Firestore client on the emulator."""
    from google.cloud import firestore

    return firestore.Client(project=stack.project)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """The event-loop guard (module docstring)."""
    if "browser" in getattr(item, "fixturenames", ()):
        return
    try:
        leaked = asyncio.get_running_loop()
    except RuntimeError:  # none running: the normal case
        return
    pytest.fail(f"an earlier test left the event loop {leaked!r} running in the main thread (a sync_playwright or "
                "loop never closed): close it in that test's fixture", pytrace=False)
