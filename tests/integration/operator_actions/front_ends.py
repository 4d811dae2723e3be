"""Calling the served admin API as the web app does and the served bot as Telegram does, and reading back."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
from google.cloud import firestore

from fakes.control import SinkControl

T = TypeVar("T")
OPS_CHAT = -100300
OPERATOR = 5151
WEBHOOK_SECRET = "itest-actions-webhook-secret"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
BOT_ENV = {
    "TELEGRAM_BOT_TOKEN": "123456:itest-token",
    "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "SPREADPILOT_BOT_ALLOWED_CHAT_IDS": str(OPS_CHAT),
    "SPREADPILOT_BOT_ALLOWED_USER_IDS": str(OPERATOR),
}


@dataclass
class AdminClient:
    """The served admin API, called with the web app's origin and an admin's token."""

    base_url: str
    origin: str
    token: str

    def call(self, method: str, path: str, json: Any = None) -> requests.Response:
        headers = {"Origin": self.origin, "Authorization": f"Bearer {self.token}"}
        return requests.request(method, f"{self.base_url}/api/v1{path}", json=json, headers=headers, timeout=30)


@dataclass
class Webhook:
    """The served bot, posted to as Telegram posts updates."""

    url: str

    def send(self, text: str, update_id: int) -> requests.Response:
        update = {"update_id": update_id, "message": {
            "message_id": update_id, "date": int(datetime.now(UTC).timestamp()), "text": text,
            "chat": {"id": OPS_CHAT, "type": "group", "title": "Ops"},
            "from": {"id": OPERATOR, "is_bot": False, "first_name": "Operator"}}}
        return requests.post(self.url, json=update, headers={SECRET_HEADER: WEBHOOK_SECRET}, timeout=30)


def replies(sink: SinkControl) -> list[str]:
    """What the bot answered, oldest first."""
    return [m["summary"]["text"] for m in sink.telegram_messages()]


def audits(db: firestore.Client, action: str) -> list[dict[str, Any]]:
    """Audit records of one action."""
    return [d for d in (s.to_dict() or {} for s in db.collection("audit").stream()) if d.get("action") == action]


def wait_for(probe: Callable[[], T | None], what: str, timeout_s: float = 30.0) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` if it never does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
