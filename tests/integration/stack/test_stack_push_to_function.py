"""A Pub/Sub push from the emulator reaches a function served by functions-framework."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from google.cloud import firestore

from stack import LocalStack
from stack.processes import stop_pid

ECHO = Path(__file__).parent / "echo_function" / "main.py"


def _wait_for_document(db: firestore.Client, path: str, timeout_s: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        snapshot = db.document(path).get()
        if snapshot.exists:
            return snapshot.to_dict() or {}
        time.sleep(0.1)
    raise AssertionError(f"{path} never appeared in Firestore")


def _echo_url(stack: LocalStack, env: dict[str, str] | None = None) -> str:
    url = stack.serve_source("echo", ECHO, "on_message", "cloudevent", env)
    stack.create_push_subscription("echo-push", "echo-test", url)
    return url


def test_pubsub_push_reaches_a_function_as_a_cloudevent(clean_stack: LocalStack) -> None:
    _echo_url(clean_stack)
    db = firestore.Client()

    message_id = clean_stack.pubsub.publish("echo-test", b"hello function", origin="test")

    received = _wait_for_document(db, f"echo/{message_id}")
    assert received["data"] == "hello function"
    assert received["attributes"] == {"origin": "test"}
    assert received["type"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert received["source"].endswith(f"projects/{clean_stack.project}/topics/echo-test")


def test_a_function_failure_makes_pubsub_redeliver(clean_stack: LocalStack) -> None:
    _echo_url(clean_stack)
    db = firestore.Client()

    message_id = clean_stack.pubsub.publish("echo-test", b"second time lucky", fail_first="1")

    received = _wait_for_document(db, f"echo/{message_id}")
    assert db.document(f"echo-failures/{message_id}").get().exists
    assert received["data"] == "second time lucky"


def test_a_function_that_died_is_served_again_and_pushes_follow_it(clean_stack: LocalStack) -> None:
    first = _echo_url(clean_stack)
    stop_pid(clean_stack.servers["function-echo"].pid)

    second = _echo_url(clean_stack)
    message_id = clean_stack.pubsub.publish("echo-test", b"after restart")

    assert second != first
    assert _wait_for_document(firestore.Client(), f"echo/{message_id}")["data"] == "after restart"


def test_a_function_asked_for_with_another_env_is_served_again_with_it_and_the_same_env_reuses_it(
        clean_stack: LocalStack) -> None:
    """A server started for an earlier test with other settings is never silently reused (a bot with another
    webhook secret answered 403 to the tests after it)."""
    first = _echo_url(clean_stack, {"ECHO_TAG": "a"})
    tagged_a = clean_stack.pubsub.publish("echo-test", b"to a")
    assert _wait_for_document(firestore.Client(), f"echo/{tagged_a}")["tag"] == "a"

    second = _echo_url(clean_stack, {"ECHO_TAG": "b"})
    tagged_b = clean_stack.pubsub.publish("echo-test", b"to b")

    assert second != first
    assert _wait_for_document(firestore.Client(), f"echo/{tagged_b}")["tag"] == "b"
    assert _echo_url(clean_stack, {"ECHO_TAG": "b"}) == second  # the same env: the running server
