"""Cloud Function ``reports``: one follower's monthly statement per ``StatementRequest`` (PDF, XLSX, email once)."""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

import functions_framework
from cloudevents.http import CloudEvent

from reports.records import FirestoreStatementRecords
from reports.send import SendGridMailer
from reports.settings import ReportsSettings
from reports.statement import deliver_statement
from reports.storage import BucketStorage, FolderStorage, StatementStorage
from spreadpilot.clock import clock_from_env
from spreadpilot.email import sendgrid_client
from spreadpilot.envelopes import StatementRequest, decode_push
from spreadpilot.errors import ConfigError, Rejected
from spreadpilot.logs import configure_logging
from spreadpilot.settings import load_settings
from spreadpilot.store import Store, firestore_client


@cache
def _adapters() -> tuple[ReportsSettings, FirestoreStatementRecords, StatementStorage, SendGridMailer]:
    settings = load_settings(ReportsSettings)
    configure_logging("reports", settings.log_level)
    key = settings.sendgrid_api_key.get_secret_value()
    if not key:
        raise ConfigError("ReportsSettings: SPREADPILOT_SENDGRID_API_KEY is missing")
    storage: StatementStorage = (BucketStorage(settings.statements_bucket) if settings.statements_bucket
                                 else FolderStorage(Path(settings.statements_dir)))
    records = FirestoreStatementRecords(Store(firestore_client(settings.project)))
    return settings, records, storage, SendGridMailer(sendgrid_client(key))


@functions_framework.cloud_event
def on_request(cloud_event: CloudEvent) -> None:
    """Decode the request, deliver the statement at the clock's now; an exception makes Pub/Sub redeliver."""
    settings, records, storage, mailer = _adapters()
    try:
        request = decode_push(cloud_event.data, StatementRequest)
        deliver_statement(request, str(cloud_event["id"]), clock_from_env().now(), records, storage, mailer, settings)
    except Rejected as exc:
        logging.getLogger("reports").error("statement request rejected", extra={"reason": str(exc)})
