"""A tiny Pub/Sub-triggered function for the stack's tests: it writes what it received to Firestore.

It records ``ECHO_TAG`` from its environment. A message with attribute ``fail_first=1`` fails its first delivery
(500), to show that Pub/Sub redelivers.
"""

from __future__ import annotations

import base64
import os
from typing import Any

import functions_framework
from cloudevents.http import CloudEvent
from google.api_core.exceptions import AlreadyExists
from google.cloud import firestore


@functions_framework.cloud_event
def on_message(event: CloudEvent) -> None:
    """Record the Pub/Sub message inside ``event`` under ``echo/<message id>``."""
    message: dict[str, Any] = event.data["message"]
    attributes: dict[str, str] = message.get("attributes") or {}
    db = firestore.Client()
    if attributes.get("fail_first") == "1":
        try:
            db.collection("echo-failures").document(message["messageId"]).create({"failed": True})
        except AlreadyExists:
            pass
        else:
            raise RuntimeError("failing the first delivery on purpose")
    db.collection("echo").document(message["messageId"]).set(
        {
            "data": base64.b64decode(message.get("data", "")).decode("utf-8"),
            "attributes": attributes,
            "source": event["source"],
            "type": event["type"],
            "deliveries": firestore.Increment(1),
            "tag": os.environ.get("ECHO_TAG", ""),  # the env it was served with
        },
        merge=True,
    )
