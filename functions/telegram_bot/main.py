"""Cloud Function ``on_update`` (HTTP): the Telegram webhook of the operator bot."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import flask
import functions_framework
from pydantic import ValidationError

from spreadpilot.clock import clock_from_env
from spreadpilot.logs import configure_logging
from spreadpilot.settings import load_settings
from telegram_bot.settings import TelegramBotSettings
from telegram_bot.update import SECRET_HEADER, Update, secret_matches
from telegram_bot.wiring import build_bot

SETTINGS = load_settings(TelegramBotSettings)
configure_logging("telegram_bot", SETTINGS.log_level)
CLOCK = clock_from_env()
BOT = build_bot(SETTINGS)
log = logging.getLogger("telegram_bot")


@functions_framework.http
def on_update(request: flask.Request) -> tuple[str, int]:
    """Check the secret token, parse the update, let the bot answer; an exception → 500 → Telegram redelivers."""
    if not secret_matches(request.headers.get(SECRET_HEADER), SETTINGS.telegram_webhook_secret.get_secret_value()):
        log.warning("webhook refused: missing or wrong secret token")
        return "forbidden", 403
    try:
        update = Update.model_validate(request.get_json(silent=True) or {})
    except ValidationError as exc:
        log.warning("webhook body is not a Telegram update", extra={"error": str(exc)[:300]})
        return "ignored", 200
    BOT.handle(update, CLOCK.now(), wall=datetime.now(UTC))
    return "ok", 200
