"""Cloud Function ``on_tick`` (push on ``tick-watchdog``, every minute in market hours): the dead-man's switch."""

from __future__ import annotations

import functions_framework
from cloudevents.http import CloudEvent

from deadman.adapters import FirestoreWatchdogReader, PubSubAlertOutbox
from deadman.settings import WatchdogSettings
from deadman.tick import run_tick
from spreadpilot.clock import clock_from_env
from spreadpilot.logs import configure_logging
from spreadpilot.publisher import PubSubPublisher
from spreadpilot.settings import load_settings
from spreadpilot.store import Store, firestore_client

SETTINGS = load_settings(WatchdogSettings)
configure_logging("watchdog", SETTINGS.log_level)
CLOCK = clock_from_env()
STORE = Store(firestore_client(SETTINGS.project))
READER = FirestoreWatchdogReader(STORE)
OUTBOX = PubSubAlertOutbox(STORE, PubSubPublisher(SETTINGS.project))


@functions_framework.cloud_event
def on_tick(cloud_event: CloudEvent) -> None:
    """The tick's payload carries nothing: check at the clock's now; an exception → 500 → Pub/Sub redelivers."""
    run_tick(CLOCK.now(), READER, OUTBOX, READER, SETTINGS)
