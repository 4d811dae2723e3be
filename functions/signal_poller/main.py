"""Cloud Function entry points of the signal poller: a Scheduler tick through Pub/Sub, or the same over HTTP.

Decode the tick → poll the sheet with the real adapters and the environment's clock → return (ack). Bad sheet
content and junk ticks are logged and alerted, never raised; a transient failure (Firestore, publish) raises so
Pub/Sub (or Scheduler) retries, and the retry is safe because the day's signal is claimed before it is published.
"""

from __future__ import annotations

from typing import Any

import functions_framework
from cloudevents.http import CloudEvent

from signal_poller.runtime import run_tick, runtime
from signal_poller.tick import parse_tick

# Settings, clients and the clock are built when the instance starts, not on its first tick: a missing setting
# stops the instance at start-up, and the first tick polls at once instead of paying the cold start.
runtime()


@functions_framework.cloud_event
def on_tick(cloud_event: CloudEvent) -> None:
    """Poll for one Scheduler tick delivered by Pub/Sub."""
    run_tick(parse_tick(cloud_event.data))


@functions_framework.http
def on_http(request: Any) -> tuple[dict[str, Any], int]:
    """Poll for one tick delivered over HTTP; answers what the tick did."""
    result = run_tick(parse_tick(request.get_json(silent=True)))
    return result.model_dump(mode="json"), 200
