"""Cloud Function ``pnl``: the daily (16:30 ET) and monthly (1st, 00:10 ET) P&L rollups, on Scheduler ticks."""

from __future__ import annotations

import logging
from functools import cache

import functions_framework
from cloudevents.http import CloudEvent

from pnl.records import FirestoreRecords
from pnl.settings import PnLSettings
from pnl.tick import parse_tick, run_tick
from spreadpilot.clock import clock_from_env
from spreadpilot.errors import Rejected
from spreadpilot.logs import configure_logging
from spreadpilot.publisher import PubSubPublisher
from spreadpilot.settings import load_settings
from spreadpilot.store import Store, firestore_client


@cache
def _adapters() -> tuple[PnLSettings, FirestoreRecords, PubSubPublisher]:
    settings = load_settings(PnLSettings)
    configure_logging("pnl", settings.log_level)
    return settings, FirestoreRecords(Store(firestore_client(settings.project))), PubSubPublisher(settings.project)


@functions_framework.cloud_event
def on_tick(cloud_event: CloudEvent) -> None:
    """Decode the tick, run its rollup at the clock's now; an exception makes Pub/Sub redeliver."""
    settings, records, publisher = _adapters()
    try:
        tick = parse_tick(str(cloud_event["source"]), cloud_event.data)
    except Rejected as exc:
        logging.getLogger("pnl").error("tick rejected", extra={"reason": str(exc)})
        return  # ack: a malformed tick stays malformed
    run_tick(tick, records, publisher, settings, clock_from_env().now())
