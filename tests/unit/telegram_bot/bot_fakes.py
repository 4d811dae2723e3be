"""In-memory stand-ins for the operator bot's ports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from spreadpilot.envelopes import Message
from spreadpilot.models import Command, DailyPnL, OrderIntent, PnLSnapshot, Position, Signal
from telegram_bot.ports import FollowerBrief, Heartbeat, OpenAlert, PendingConfirmation
from telegram_bot.settings import TelegramBotSettings
from telegram_bot.update import Update

NOW = datetime(2026, 3, 17, 14, 40, tzinfo=UTC)  # 10:40 New York
OPERATOR = 111
CHAT = -1001


def make_settings(**overrides: object) -> TelegramBotSettings:
    values: dict[str, object] = {
        "GOOGLE_CLOUD_PROJECT": "test",
        "TELEGRAM_BOT_TOKEN": "123:abc",
        "TELEGRAM_WEBHOOK_SECRET": "hook-secret",
        "SPREADPILOT_BOT_ALLOWED_CHAT_IDS": f"{CHAT}",
        "SPREADPILOT_BOT_ALLOWED_USER_IDS": f"{OPERATOR}, 222",
    }
    values.update(overrides)
    return TelegramBotSettings.model_validate(values)


def update(text: str, update_id: int = 1, user: int = OPERATOR, chat: int = CHAT) -> Update:
    return Update.model_validate({
        "update_id": update_id,
        "message": {"message_id": update_id, "date": 0, "chat": {"id": chat, "type": "group"},
                    "from": {"id": user, "is_bot": False, "first_name": "Op"}, "text": text},
    })


class MemoryBotStore:
    def __init__(self) -> None:
        self.beat: Heartbeat | None = None
        self.signals: list[Signal] = []
        self.orders: list[OrderIntent] = []
        self.positions: list[Position] = []
        self.snapshots: list[PnLSnapshot] = []
        self.dailies: list[DailyPnL] = []
        self.commands: dict[str, dict[str, Any]] = {}
        self.confirmations: dict[str, PendingConfirmation] = {}
        self.spent: dict[str, str] = {}
        self.alerts: dict[str, dict[str, Any]] = {}
        self.audits: list[dict[str, Any]] = []
        self.followers: set[str] = {"f01", "f02", "f03"}
        self.briefs: dict[str, FollowerBrief] = {}
        self.paused: dict[str, str] = {}  # scope ("global" or a follower id) → why

    def heartbeat(self) -> Heartbeat | None:
        return self.beat

    def signals_on(self, day: date) -> list[Signal]:
        return [s for s in self.signals if s.date == day]

    def orders_for(self, signal_id: str) -> list[OrderIntent]:
        return [o for o in self.orders if o.signal_id == signal_id]

    def open_positions(self) -> list[Position]:
        return [p for p in self.positions if any(leg.qty for leg in p.legs)]

    def latest_pnl(self, follower_id: str | None, since: datetime) -> list[PnLSnapshot]:
        latest: dict[str, PnLSnapshot] = {}
        for snap in sorted(self.snapshots, key=lambda s: s.at):
            if snap.at >= since and follower_id in (None, snap.follower_id):
                latest[snap.follower_id] = snap
        return list(latest.values())

    def daily_pnl(self, day: date, follower_id: str | None) -> list[DailyPnL]:
        return [d for d in self.dailies if d.date == day and follower_id in (None, d.follower_id)]

    def record_command(self, command: Command) -> bool:
        if command.command_id in self.commands:
            return self.commands[command.command_id]["published"] is None
        self.commands[command.command_id] = {"command": command, "published": None}
        return True

    def mark_published(self, command_id: str, message_id: str) -> None:
        self.commands[command_id]["published"] = message_id

    def follower_ids(self) -> set[str]:
        return set(self.followers)

    def save_confirmation(self, pending: PendingConfirmation) -> None:
        self.confirmations.setdefault(pending.code, pending)

    def get_confirmation(self, code: str) -> PendingConfirmation | None:
        return self.confirmations.get(code)

    def use_confirmation(self, code: str, command_id: str, by: str, at: datetime) -> bool:
        if self.spent.setdefault(code, command_id) != command_id:
            return False
        pending = self.confirmations[code]
        self.confirmations[code] = pending.model_copy(update={"confirmed_at": at, "confirmed_by": by,
                                                              "confirm_command_id": command_id})
        return True

    def acknowledge(self, alert_id: str, by: str, at: datetime) -> bool:
        if alert_id not in self.alerts:
            return False
        self.alerts[alert_id].update(acknowledged_by=by, acknowledged_at=at)
        return True

    def open_alerts(self, limit: int) -> list[OpenAlert]:
        found = [OpenAlert.model_validate({"alert_id": alert_id, **doc}) for alert_id, doc in self.alerts.items()]
        found = [a for a in found if a.acknowledged_by is None and a.collapsed_into is None]
        return sorted(found, key=lambda a: a.at, reverse=True)[:limit]

    def follower(self, follower_id: str) -> FollowerBrief | None:
        if follower_id not in self.followers:
            return None
        return self.briefs.get(follower_id) or FollowerBrief(id=follower_id, ibkr_account="DU001", gateway_id="gw1",
                                                             max_contracts=10, daily_loss_limit=Decimal(2000))

    def entries_paused(self, follower_id: str) -> str | None:
        return self.paused.get(follower_id) or self.paused.get("global")

    def audit(self, action: str, actor: str, at: datetime, **details: object) -> None:
        self.audits.append({"action": action, "actor": actor, "at": at, **details})


class RecordingPublisher:
    def __init__(self) -> None:
        self.published: list[tuple[str, Message]] = []

    def publish(self, topic: str, message: Message, *, ordering_key: str = "") -> str:
        self.published.append((topic, message))
        return str(len(self.published))

    def commands(self) -> list[Command]:
        return [m.command for _, m in self.published if hasattr(m, "command")]


class RecordingReplier:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.buttons: list[list[tuple[str, str]]] = []  # of each message sent, in order
        self.edits: list[tuple[str, int, str, list[tuple[str, str]]]] = []
        self.answered: list[tuple[str, str]] = []

    def send_message(self, chat_id: str, text: str, buttons: Sequence[tuple[str, str]] | None = None) -> str:
        self.sent.append((chat_id, text))
        self.buttons.append(list(buttons or []))
        return str(len(self.sent))

    def edit_message(self, chat_id: str, message_id: int, text: str,
                     buttons: Sequence[tuple[str, str]] | None = None) -> None:
        self.edits.append((chat_id, message_id, text, list(buttons or [])))

    def answer_callback(self, callback_id: str, text: str = "") -> None:
        self.answered.append((callback_id, text))
