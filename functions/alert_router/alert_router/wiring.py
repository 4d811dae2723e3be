"""Building the router with its real adapters (entry point only)."""

from __future__ import annotations

import time

from alert_router.channels import EmailChannel, TelegramChannel
from alert_router.dead_letters import PubSubDeadLetters
from alert_router.records import FirestoreAlertRecords
from alert_router.routing import AlertRouter
from alert_router.settings import AlertRouterSettings
from spreadpilot.errors import ConfigError
from spreadpilot.events import FirestoreEvents
from spreadpilot.publisher import PubSubPublisher
from spreadpilot.store import Store, firestore_client


def build_router(settings: AlertRouterSettings) -> AlertRouter:
    """The router over Firestore, Pub/Sub, Telegram and SendGrid; a routed channel without settings stops start-up."""
    missing = settings.missing_channel_settings()
    if missing:
        raise ConfigError(f"AlertRouterSettings: {', '.join(missing)} missing for a channel alerts are routed to")
    store = Store(firestore_client(settings.project))
    token = settings.telegram_bot_token.get_secret_value()
    api_key = settings.sendgrid_api_key.get_secret_value()
    return AlertRouter(
        settings,
        records=FirestoreAlertRecords(store.db),
        dead_letters=PubSubDeadLetters(PubSubPublisher(settings.project), store),
        telegram=TelegramChannel(token) if token else None,
        email=EmailChannel(api_key, settings.alert_email_from) if api_key else None,
        # Telegram's retry_after is in real seconds, whatever the business clock's speed.
        sleep=time.sleep,
        wall=time.time,
        events=FirestoreEvents(store.db),
    )
