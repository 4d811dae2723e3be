"""Building the operator bot with its real adapters (entry point only)."""

from __future__ import annotations

from spreadpilot.publisher import PubSubPublisher
from spreadpilot.store import Store, firestore_client
from telegram_bot.bot import OperatorBot
from telegram_bot.firestore_store import FirestoreBotStore
from telegram_bot.replies import TelegramReplier
from telegram_bot.settings import TelegramBotSettings


def build_bot(settings: TelegramBotSettings) -> OperatorBot:
    """The bot over Firestore, Pub/Sub and python-telegram-bot."""
    return OperatorBot(
        settings,
        store=FirestoreBotStore(Store(firestore_client(settings.project))),
        publisher=PubSubPublisher(settings.project),
        replier=TelegramReplier(settings.telegram_bot_token.get_secret_value()),
        bot_username=settings.bot_username,
    )
