"""Publishing SpreadPilot's Pub/Sub messages (honours ``PUBSUB_EMULATOR_HOST``)."""

from __future__ import annotations

from typing import Protocol

from google.api_core.exceptions import GoogleAPICallError
from google.cloud import pubsub_v1  # type: ignore[attr-defined]  # the package ships no stubs for it

from spreadpilot.envelopes import Message, encode
from spreadpilot.errors import Retryable
from spreadpilot.resources import resources

PUBLISH_TIMEOUT_S = 30.0


class Publisher(Protocol):
    """Publishes one message and returns its message id."""

    def publish(self, topic: str, message: Message, *, ordering_key: str = "") -> str:
        """Publish ``message`` to ``topic``."""
        ...


class PubSubPublisher:
    """The real publisher, one client per process."""

    def __init__(self, project: str) -> None:
        self.project = project
        self.client = pubsub_v1.PublisherClient()

    def publish(self, topic: str, message: Message, *, ordering_key: str = "") -> str:
        """Publish and wait for the server's message id; a failure is ``Retryable``."""
        if topic not in resources().topics:
            raise ValueError(f"topic {topic!r} is not declared in resources.yaml")
        data, attributes = encode(message)
        path = self.client.topic_path(self.project, topic)
        try:
            future = self.client.publish(path, data, ordering_key=ordering_key, **attributes)
            return str(future.result(timeout=PUBLISH_TIMEOUT_S))
        except (GoogleAPICallError, TimeoutError) as exc:
            raise Retryable(f"publish to {topic} failed: {exc}") from exc
