"""The operator bot's use case: authorise, parse, answer or publish a command, audit, reply.

Every update gets a reply and an audit record, including the ones that publish nothing: an unknown follower id
(``/pause f0l``) is refused with the ids there are, and a confirmation code issued elsewhere (the web app), spent,
expired or unreadable is answered with what to do instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from datetime import datetime, time, timedelta

from spreadpilot import confirmations
from spreadpilot.clock import NEW_YORK, new_york
from spreadpilot.confirmations import Verdict
from spreadpilot.envelopes import CommandMessage
from spreadpilot.errors import Rejected
from spreadpilot.models import Command, CommandKind
from spreadpilot.publisher import Publisher
from spreadpilot.resources import COMMANDS
from spreadpilot.telegram import Buttons
from telegram_bot.commands import HELP, Invalid, Parsed, parse_command
from telegram_bot.ports import BotStore, PendingConfirmation, Replier
from telegram_bot.settings import TelegramBotSettings
from telegram_bot.update import TgCallback, TgMessage, Update
from telegram_bot.views import alerts_text, follower_text, pnl_page, pnl_text, positions_page, status_text

log = logging.getLogger(__name__)

REFUSAL = "Not authorised."
SHOWN_IDS = 20  # follower ids listed when an unknown one is refused
SHOWN_ALERTS = 10  # newest unacknowledged alerts /alerts lists
PAUSE_ALL = "pause_all"  # the confirmation kind of a pause of everyone (the web app's too)
ASKED = {"flatten": ("flatten", "/flatten {scope}"), PAUSE_ALL: ("pause of everyone", "/pause all")}


def confirm_code(key: str, update_id: int) -> str:
    """A 6-character code, unguessable without ``key`` and the same on a redelivered update."""
    digest = hmac.new(key.encode(), f"flatten:{update_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:6]


def command_id_for(update_id: int) -> str:
    """The command id of a Telegram update (a redelivered webhook publishes the same command once)."""
    return f"tg-{update_id}"


class OperatorBot:
    """Handles one webhook update at a time; built once per process in the entry point."""

    def __init__(
        self,
        settings: TelegramBotSettings,
        store: BotStore,
        publisher: Publisher,
        replier: Replier,
        bot_username: str = "",
    ) -> None:
        self.settings = settings
        self.store = store
        self.publisher = publisher
        self.replier = replier
        self.bot_username = bot_username

    def handle(self, update: Update, now: datetime, wall: datetime | None = None) -> str | None:
        """Answer ``update`` at business time ``now`` (real time ``wall``: confirmation codes are typed by people);
        the reply sent, or None when there was nothing to answer."""
        if update.callback_query is not None:
            return self._turn_page(update.callback_query, now)
        message = update.message
        if message is None or message.text is None or message.sender is None:
            return None
        actor = f"telegram:{message.sender.id}"
        details: dict[str, object] = {"update_id": update.update_id, "chat_id": message.chat.id,
                                      "text": message.text[:200]}
        if message.chat.id not in self.settings.allowed_chats or message.sender.id not in self.settings.allowed_users:
            log.warning("telegram update refused", extra=details)
            self.store.audit("telegram.refused", actor, now, outcome="unauthorised", **details)
            return self._reply(message, REFUSAL)
        parsed = parse_command(message.text, self.bot_username)
        if isinstance(parsed, Invalid):
            self.store.audit("telegram.invalid", actor, now, outcome="refused", reason=parsed.reason, **details)
            return self._reply(message, parsed.reason)
        if parsed.name == "positions" or (parsed.name == "pnl" and parsed.arg in (None, "all")):
            text, buttons = self._page_of(parsed.name, 1, now)  # a long list: its first page, buttons to the rest
            self.store.audit(f"telegram.{parsed.name}", actor, now, outcome="answered", arg=parsed.arg, **details)
            return self._reply(message, text, buttons)
        reply, outcome = self._dispatch(parsed, update.update_id, message, actor, now, wall or now)
        self.store.audit(f"telegram.{parsed.name}", actor, now, outcome=outcome, arg=parsed.arg, **details)
        return self._reply(message, reply)

    def _page_of(self, kind: str, number: int, now: datetime) -> tuple[str, Buttons]:
        shown: tuple[str, Buttons]
        if kind == "positions":
            shown = positions_page(self.store.open_positions(), number)
            return shown
        day = new_york(now).date()
        snapshots = self.store.latest_pnl(None, datetime.combine(day, time(0), NEW_YORK))
        shown = pnl_page(snapshots, self.store.daily_pnl(day, None), None, number)
        return shown

    def _turn_page(self, press: TgCallback, now: datetime) -> str | None:
        """A page button of ``/positions`` or ``/pnl``: the message shows that page, read afresh."""
        message = press.message
        actor = f"telegram:{press.sender.id}"
        details: dict[str, object] = {"callback_id": press.id, "data": (press.data or "")[:64]}
        if message is None or message.chat.id not in self.settings.allowed_chats or \
                press.sender.id not in self.settings.allowed_users:
            self.store.audit("telegram.refused", actor, now, outcome="unauthorised", **details)
            self.replier.answer_callback(press.id, REFUSAL)
            return None
        kind, _, number = (press.data or "").partition(":")
        if kind not in ("positions", "pnl") or not number.isdigit():
            self.store.audit("telegram.page", actor, now, outcome="refused", **details)
            self.replier.answer_callback(press.id, "That button is not ours any more: send the command again.")
            return None
        text, buttons = self._page_of(kind, int(number), now)
        try:
            self.replier.edit_message(str(message.chat.id), message.message_id, text, buttons)
        except Rejected as exc:  # Telegram refuses to edit it (too old, deleted): redelivering would not help
            self.store.audit("telegram.page", actor, now, outcome="edit_refused", error=str(exc)[:200], **details)
            self.replier.answer_callback(press.id, f"That list cannot be updated any more: send /{kind} again.")
            return None
        self.replier.answer_callback(press.id)
        self.store.audit("telegram.page", actor, now, outcome="answered", **details)
        return text

    def _dispatch(
        self, parsed: Parsed, update_id: int, message: TgMessage, actor: str, now: datetime, wall: datetime
    ) -> tuple[str, str]:
        day = new_york(now).date()
        if parsed.name in ("pnl", "pause", "resume", "flatten", "reconcile", "follower") and parsed.arg not in (
                None, "all"):
            known = self.store.follower_ids()
            if parsed.arg not in known:
                shown = ", ".join(sorted(known)[:SHOWN_IDS]) + (" …" if len(known) > SHOWN_IDS else "")
                return (f"No follower {parsed.arg!r}: nothing was sent. Followers: {shown or 'none'}.",
                        "unknown_follower")
        if parsed.name == "help":
            return HELP, "answered"
        if parsed.name == "status":
            signals = self.store.signals_on(day)
            orders = {s.signal_id: self.store.orders_for(s.signal_id) for s in signals}
            heartbeat = self.store.heartbeat()
            return status_text(now, heartbeat, self.settings.bot_heartbeat_max_age_s, day, signals, orders), "answered"
        if parsed.name == "alerts":
            return alerts_text(self.store.open_alerts(SHOWN_ALERTS), now), "answered"
        if parsed.name == "follower":
            return self._follower(parsed.arg or "", now), "answered"
        if parsed.name == "pnl":
            since = datetime.combine(day, time(0), NEW_YORK)
            snapshots = self.store.latest_pnl(parsed.arg, since)
            return pnl_text(snapshots, self.store.daily_pnl(day, parsed.arg), parsed.arg), "answered"
        if parsed.name == "ack":
            assert parsed.arg is not None  # the parser requires it
            if not self.store.acknowledge(parsed.arg, actor, now):
                return f"No alert {parsed.arg}.", "unknown_alert"
            return f"Alert {parsed.arg} acknowledged.", "acknowledged"
        if parsed.name == "confirm":
            return self._confirm(parsed, update_id, actor, now, wall)
        scope = parsed.arg or "all"
        kind = {"pause": CommandKind.PAUSE, "resume": CommandKind.RESUME, "reconcile": CommandKind.RECONCILE,
                "flatten": CommandKind.FLATTEN_REQUEST}[parsed.name]
        code = confirm_code(self.settings.telegram_webhook_secret.get_secret_value(), update_id)
        if kind is CommandKind.PAUSE and scope == "all":
            return self._ask_to_pause_everyone(code, update_id, message, actor, wall)
        flatten = kind is CommandKind.FLATTEN_REQUEST
        command = self._command(kind, scope, update_id, actor, now, code if flatten else None)
        if flatten:
            ttl = timedelta(seconds=self.settings.bot_confirm_ttl_s)
            self.store.save_confirmation(PendingConfirmation(
                code=code, scope=scope, requested_by=actor, chat_id=message.chat.id, source="telegram",
                command_id=command.command_id, requested_at=wall, expires_at=wall + ttl))
            self._publish(command)
            minutes = self.settings.bot_confirm_ttl_s / 60
            return (f"Flatten {scope} requested. Send /confirm {code} within {minutes:g} minutes to proceed.",
                    "confirmation_requested")
        self._publish(command)
        return f"{parsed.name.capitalize()} {scope}: sent (command {command.command_id}).", "published"

    def _ask_to_pause_everyone(self, code: str, update_id: int, message: TgMessage, actor: str,
                               wall: datetime) -> tuple[str, str]:
        """Pausing every follower's entries is confirmed as a flatten is: a code for this operator, with a TTL; the
        pause is published by the ``/confirm`` (``pending_confirmations/{code}`` of kind ``pause_all``, as the web
        app issues it)."""
        ttl = timedelta(seconds=self.settings.bot_confirm_ttl_s)
        self.store.save_confirmation(PendingConfirmation(
            code=code, kind=PAUSE_ALL, scope="all", requested_by=actor, chat_id=message.chat.id, source="telegram",
            command_id=command_id_for(update_id), requested_at=wall, expires_at=wall + ttl))
        minutes = self.settings.bot_confirm_ttl_s / 60
        return (f"Pause of every follower's entries asked: nothing is sent yet. Send /confirm {code} within "
                f"{minutes:g} minutes to pause everyone.", "confirmation_requested")

    def _follower(self, follower_id: str, now: datetime) -> str:
        brief = self.store.follower(follower_id)
        if brief is None:  # removed between the id check and this read
            return f"No follower {follower_id!r}."
        day = new_york(now).date()
        orders = [o for s in self.store.signals_on(day) for o in self.store.orders_for(s.signal_id)
                  if o.follower_id == follower_id]
        positions = [p for p in self.store.open_positions() if p.follower_id == follower_id]
        snapshots = self.store.latest_pnl(follower_id, datetime.combine(day, time(0), NEW_YORK))
        text: str = follower_text(brief, self.store.entries_paused(follower_id), orders, positions, snapshots)
        return text

    def _confirm(self, parsed: Parsed, update_id: int, actor: str, now: datetime,
                 wall: datetime) -> tuple[str, str]:
        code = parsed.arg or ""
        try:
            pending = self.store.get_confirmation(code)
        except confirmations.MalformedConfirmation as exc:
            log.error("pending confirmation unreadable", extra={"code": code, "error": str(exc)})
            return f"Code {code} cannot be read (its record is damaged); nothing was sent. Ask again.", "malformed"
        command_id = command_id_for(update_id)
        found = confirmations.verdict(pending, actor=actor, uid=None, now=wall)
        if found is Verdict.CONFIRMED and pending is not None and pending.confirm_command_id == command_id:
            found = Verdict.OK  # this very update, redelivered: publishing again is a no-op
        if found is Verdict.UNKNOWN or pending is None:
            return "Unknown confirmation code.", "unknown_code"
        if found is Verdict.OTHER_REQUESTER:
            if pending.issued_in != "Telegram":
                return (f"Code {code} was issued in {pending.issued_in} to {pending.requested_by} for a "
                        f"{pending.kind} of {pending.scope}: confirm it there. Nothing was sent.", "issued_elsewhere")
            return f"Only the operator who asked for the {ASKED[pending.kind][0]} can confirm it.", "wrong_user"
        if found is Verdict.CONFIRMED:
            return f"Code {code} was already confirmed.", "already_confirmed"
        if pending.kind not in ASKED:
            return (f"Code {code} confirms a {pending.kind}, not a flatten or a pause of everyone: confirm it where "
                    "it was asked.", "wrong_kind")
        if found is Verdict.EXPIRED:
            return f"Code {code} expired. Send {ASKED[pending.kind][1].format(scope=pending.scope)} again.", "expired"
        pause = pending.kind == PAUSE_ALL
        kind = CommandKind.PAUSE if pause else CommandKind.FLATTEN_CONFIRM
        command = self._command(kind, pending.scope, update_id, actor, now, None if pause else code)
        if not self.store.use_confirmation(code, command.command_id, actor, wall):
            return f"Code {code} was already confirmed.", "already_confirmed"
        self._publish(command)
        if pause:
            return (f"Pause of every follower's entries confirmed (command {command.command_id}).", "published")
        return (f"Flatten {pending.scope} confirmed (command {command.command_id}); the executor reports the outcome "
                "as an alert.", "published")

    def _command(
        self, kind: CommandKind, scope: str, update_id: int, actor: str, now: datetime, code: str | None
    ) -> Command:
        return Command(command_id=command_id_for(update_id), kind=kind, scope=scope, issued_by=actor, issued_at=now,
                       source="telegram", reason=f"/{kind} {scope} via Telegram", confirm_code=code)

    def _publish(self, command: Command) -> None:
        if not self.store.record_command(command):
            log.info("command already published", extra={"command_id": command.command_id})
            return
        message_id = self.publisher.publish(COMMANDS, CommandMessage(command=command))
        self.store.mark_published(command.command_id, message_id)
        log.info("command published", extra={"command_id": command.command_id, "kind": str(command.kind),
                                             "scope": command.scope, "message_id": message_id})

    def _reply(self, message: TgMessage, text: str, buttons: Buttons | None = None) -> str:
        self.replier.send_message(str(message.chat.id), text, buttons or None)
        return text
