"""Publishing an undeliverable alert to ``alerts-dead-letter``, once."""

from __future__ import annotations

from spreadpilot.envelopes import AlertMessage
from spreadpilot.models import Alert
from spreadpilot.publisher import Publisher
from spreadpilot.store import Store

DEAD_LETTER_TOPIC = "alerts-dead-letter"


class PubSubDeadLetters:
    """``DeadLetters`` on Pub/Sub; a claim makes a redelivered alert publish at most once."""

    def __init__(self, publisher: Publisher, store: Store) -> None:
        self.publisher = publisher
        self.store = store

    def dead_letter(self, alert: Alert) -> None:
        """Publish ``AlertMessage(alert)`` to the dead-letter topic unless an earlier delivery did."""
        key = f"alert-dead-letter:{alert.alert_id}"
        first = self.store.claim(key, alert_id=alert.alert_id)
        if not first and (self.store.claim_data(key) or {}).get("message_id"):
            return
        message_id = self.publisher.publish(DEAD_LETTER_TOPIC, AlertMessage(alert=alert))
        self.store.update_claim(key, message_id=message_id)
