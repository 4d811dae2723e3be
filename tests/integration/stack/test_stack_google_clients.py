"""The official Google clients work against the stack with nothing but its env vars (no project code)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from google.cloud import firestore, pubsub_v1

from spreadpilot.resources import resources
from stack import LocalStack, TopicTap


def test_firestore_client_writes_and_reads_a_document(stack: LocalStack) -> None:
    db = firestore.Client()  # project and host from GOOGLE_CLOUD_PROJECT / FIRESTORE_EMULATOR_HOST

    db.collection("stack-check").document("doc-1").set({"qty": 2, "note": "hello"})

    assert db.collection("stack-check").document("doc-1").get().to_dict() == {"qty": 2, "note": "hello"}


def test_firestore_create_is_an_idempotency_key(stack: LocalStack) -> None:
    from google.api_core.exceptions import AlreadyExists

    doc = firestore.Client().collection("intents").document(f"intent-{uuid.uuid4().hex}")
    doc.create({"state": "claimed"})

    with pytest.raises(AlreadyExists):
        doc.create({"state": "claimed again"})
    assert doc.get().to_dict() == {"state": "claimed"}


def test_clean_stack_starts_with_an_empty_firestore(clean_stack: LocalStack) -> None:
    assert list(firestore.Client().collection("stack-check").stream()) == []


def test_pubsub_client_publishes_and_pulls(stack: LocalStack) -> None:
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    topic = publisher.topic_path(stack.project, f"check-{uuid.uuid4().hex[:8]}")
    subscription = subscriber.subscription_path(stack.project, f"check-{uuid.uuid4().hex[:8]}")
    publisher.create_topic(name=topic)
    subscriber.create_subscription(name=subscription, topic=topic)

    publisher.publish(topic, b"ping", kind="check").result(timeout=10)
    response = subscriber.pull(subscription=subscription, max_messages=1, timeout=10)

    assert [(m.message.data, dict(m.message.attributes)) for m in response.received_messages] == [
        (b"ping", {"kind": "check"})
    ]


def test_declared_topics_and_pull_subscriptions_exist_with_dead_letter_policies(stack: LocalStack) -> None:
    declared = resources()
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()

    topics = {t.name.rsplit("/", 1)[-1] for t in publisher.list_topics(project=f"projects/{stack.project}")}
    subs = {s.name.rsplit("/", 1)[-1]: s for s in subscriber.list_subscriptions(project=f"projects/{stack.project}")}

    assert set(declared.topics) <= topics
    executor_signals = subs["executor-signals"]
    assert executor_signals.dead_letter_policy.dead_letter_topic.endswith("/topics/signals-dead-letter")
    assert executor_signals.dead_letter_policy.max_delivery_attempts == 20
    assert {n for n, s in declared.subscriptions.items() if s.type == "pull"} <= set(subs)


def test_tap_sees_messages_published_after_it_was_made(stack: LocalStack, tap: Callable[[str], TopicTap]) -> None:
    signals = tap("signals")

    stack.pubsub.publish("signals", b'{"v": 1}', schema="1")

    [message] = signals.pull(1, timeout_s=10)
    assert message.data == b'{"v": 1}'
    assert message.attributes == {"schema": "1"}


def test_reset_drops_messages_queued_in_declared_subscriptions(stack: LocalStack) -> None:
    stack.pubsub.publish("signals", b"left over by an earlier test")

    stack.reset()
    stack.pubsub.publish("signals", b"fresh")

    assert [m.data for m in stack.pubsub.pull("executor-signals", 2, timeout_s=2)] == [b"fresh"]
