"""Create the declared Pub/Sub topics and subscriptions on the emulator, and pull from it synchronously."""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import dataclass

import grpc
from google.api_core.exceptions import AlreadyExists, NotFound
from google.protobuf import timestamp_pb2
from google.pubsub_v1 import PublisherClient, SubscriberClient
from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport
from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport
from google.pubsub_v1.types import DeadLetterPolicy, PubsubMessage, PushConfig, Subscription

from spreadpilot.resources import Resources


@dataclass(frozen=True)
class PulledMessage:
    """One message pulled (and acked) from a subscription."""

    data: bytes
    attributes: dict[str, str]
    message_id: str
    ordering_key: str
    delivery_attempt: int


class PubSubAdmin:
    """Admin and pull calls against the emulator over an insecure channel (no env vars, no credentials)."""

    def __init__(self, host: str, project: str) -> None:
        self.project = project
        self._channel = grpc.insecure_channel(host)
        self.publisher = PublisherClient(transport=PublisherGrpcTransport(channel=self._channel))
        self.subscriber = SubscriberClient(transport=SubscriberGrpcTransport(channel=self._channel))

    def topic_path(self, topic: str) -> str:
        """``projects/P/topics/T``."""
        return f"projects/{self.project}/topics/{topic}"

    def subscription_path(self, subscription: str) -> str:
        """``projects/P/subscriptions/S``."""
        return f"projects/{self.project}/subscriptions/{subscription}"

    def create_topic(self, topic: str) -> None:
        """Create ``topic`` unless it exists."""
        with contextlib.suppress(AlreadyExists):
            self.publisher.create_topic(name=self.topic_path(topic))

    def create_subscription(
        self,
        name: str,
        topic: str,
        *,
        ack_deadline_s: int = 60,
        push_endpoint: str | None = None,
        dead_letter_topic: str | None = None,
        max_delivery_attempts: int | None = None,
        replace: bool = False,
    ) -> None:
        """Create a pull or push subscription (with its dead-letter policy); ``replace`` recreates it."""
        subscription = Subscription(
            name=self.subscription_path(name), topic=self.topic_path(topic), ack_deadline_seconds=ack_deadline_s
        )
        if push_endpoint:
            subscription.push_config = PushConfig(push_endpoint=push_endpoint)
        if dead_letter_topic:
            subscription.dead_letter_policy = DeadLetterPolicy(
                dead_letter_topic=self.topic_path(dead_letter_topic), max_delivery_attempts=max_delivery_attempts or 5
            )
        if replace:
            self.delete_subscription(name)
        with contextlib.suppress(AlreadyExists):
            self.subscriber.create_subscription(request=subscription)

    def delete_subscription(self, name: str) -> None:
        """Delete a subscription if it exists."""
        with contextlib.suppress(NotFound):
            self.subscriber.delete_subscription(subscription=self.subscription_path(name))

    def create_declared(self, declared: Resources) -> None:
        """Every topic, and every pull subscription with its dead-letter policy, from the declaration."""
        for topic in declared.topics:
            self.create_topic(topic)
        for name, sub in declared.subscriptions.items():
            if sub.type == "pull":
                self.create_declared_subscription(declared, name)

    def create_declared_subscription(self, declared: Resources, name: str, push_endpoint: str | None = None) -> None:
        """One declared subscription, replaced if it exists (a push endpoint changes when a function restarts)."""
        sub = declared.subscriptions[name]
        dead_letter = declared.topics[sub.topic].dead_letter if sub.topic in declared.topics else None
        self.create_subscription(
            name,
            sub.topic,
            ack_deadline_s=sub.ack_deadline_s,
            push_endpoint=push_endpoint,
            dead_letter_topic=dead_letter if sub.max_delivery_attempts else None,
            max_delivery_attempts=sub.max_delivery_attempts,
            replace=push_endpoint is not None,
        )

    def purge(self, subscription: str) -> None:
        """Acknowledge everything published to ``subscription`` until now (a seek; open streams are unaffected)."""
        now = timestamp_pb2.Timestamp()
        now.GetCurrentTime()
        with contextlib.suppress(NotFound):
            self.subscriber.seek(request={"subscription": self.subscription_path(subscription), "time": now})

    def pull(self, subscription: str, count: int, timeout_s: float) -> list[PulledMessage]:
        """Synchronously pull and ack up to ``count`` messages, waiting at most ``timeout_s`` for them."""
        path = self.subscription_path(subscription)
        found: list[PulledMessage] = []
        deadline = time.monotonic() + timeout_s
        while len(found) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            response = self.subscriber.pull(
                subscription=path, max_messages=count - len(found), timeout=max(min(remaining, 5.0), 0.5)
            )
            if not response.received_messages:
                time.sleep(0.05)
                continue
            self.subscriber.acknowledge(subscription=path, ack_ids=[m.ack_id for m in response.received_messages])
            found.extend(
                PulledMessage(
                    data=bytes(m.message.data),
                    attributes=dict(m.message.attributes),
                    message_id=m.message.message_id,
                    ordering_key=m.message.ordering_key,
                    delivery_attempt=m.delivery_attempt,
                )
                for m in response.received_messages
            )
        return found

    def publish(self, topic: str, data: bytes, **attributes: str) -> str:
        """Publish one message; returns its id."""
        response = self.publisher.publish(
            topic=self.topic_path(topic), messages=[PubsubMessage(data=data, attributes=attributes)]
        )
        return str(response.message_ids[0])

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()


class TopicTap:
    """A fresh pull subscription on a topic, made before the messages it should see are published."""

    def __init__(self, admin: PubSubAdmin, topic: str) -> None:
        self.admin = admin
        self.topic = topic
        self.subscription = f"tap-{topic}-{uuid.uuid4().hex[:10]}"
        admin.create_subscription(self.subscription, topic, ack_deadline_s=30)

    def pull(self, count: int = 1, timeout_s: float = 10.0) -> list[PulledMessage]:
        """Up to ``count`` messages published since the tap was made (acked), waiting at most ``timeout_s``."""
        return self.admin.pull(self.subscription, count, timeout_s)

    def close(self) -> None:
        """Delete the tap's subscription."""
        self.admin.delete_subscription(self.subscription)
