"""SendGrid and python-telegram-bot deliver to the sink through spreadpilot.email and spreadpilot.telegram."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable

import pytest

from fakes.control import SinkControl
from spreadpilot.email import EmailAttachment, EmailMessage, send_email, sendgrid_client
from spreadpilot.errors import Rejected, Retryable
from spreadpilot.telegram import TelegramRetryAfter, send_document, send_message, telegram_bot
from stack import LocalStack

STATEMENT = EmailMessage(
    sender="reports@spreadpilot.local",
    to=("follower@example.com",),
    subject="Statement 2026-03",
    text="Your statement is attached.",
    attachments=(
        EmailAttachment("statement-2026-03.pdf", b"%PDF-1.4 fake", "application/pdf"),
        EmailAttachment(
            "statement-2026-03.xlsx", b"PK fake", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        ),
    ),
)


def test_sendgrid_delivers_an_email_with_attachments(clean_stack: LocalStack, sink: SinkControl) -> None:
    status = send_email(sendgrid_client("SG.local-key"), STATEMENT)

    [email] = sink.emails()
    assert status == 202
    assert email["summary"] == {
        "from": "reports@spreadpilot.local",
        "to": ["follower@example.com"],
        "subject": "Statement 2026-03",
        "attachments": ["statement-2026-03.pdf", "statement-2026-03.xlsx"],
    }
    assert base64.b64decode(email["payload"]["attachments"][0]["content"]) == b"%PDF-1.4 fake"


def test_sendgrid_server_error_is_retryable_and_nothing_is_delivered(
    clean_stack: LocalStack, sink: SinkControl
) -> None:
    sink.fail_next("email", count=1, status=500)

    with pytest.raises(Retryable):
        send_email(sendgrid_client("SG.local-key"), STATEMENT)

    assert sink.emails() == []
    assert [e["status"] for e in sink.received(kind="email", include_failed=True)] == [500]


def test_sendgrid_bad_request_is_rejected(clean_stack: LocalStack, sink: SinkControl) -> None:
    sink.fail_next("email", count=1, status=400, description="invalid address")

    with pytest.raises(Rejected):
        send_email(sendgrid_client("SG.local-key"), STATEMENT)


async def _talk_to_bot() -> tuple[int, int, bool, str]:
    async with telegram_bot("123456:local-token") as bot:
        text_id = await send_message(bot, 4242, "CRITICAL: assignment on f01")
        doc_id = await send_document(bot, 4242, "report.pdf", b"%PDF-1.4 fake", caption="daily report")
        hooked = await bot.set_webhook("https://example.test/telegram", secret_token="s3cret")
        return text_id, doc_id, hooked, bot.username


def test_telegram_bot_delivers_messages_and_documents(clean_stack: LocalStack, sink: SinkControl) -> None:
    text_id, doc_id, hooked, username = asyncio.run(_talk_to_bot())

    messages = sink.telegram_messages()
    assert [m["method"] for m in messages] == ["sendMessage", "sendDocument"]
    assert messages[0]["summary"] == {"chat_id": 4242, "text": "CRITICAL: assignment on f01", "document": None}
    assert messages[1]["summary"]["document"] == "report.pdf"
    assert base64.b64decode(messages[1]["files"][0]["content_b64"]) == b"%PDF-1.4 fake"
    assert [m["token"] for m in messages] == ["123456:local-token"] * 2
    assert text_id != doc_id
    assert hooked
    assert username == "spreadpilot_local_bot"
    [webhook] = sink.received(kind="telegram", method="setWebhook")
    assert webhook["payload"]["secret_token"] == "s3cret"


async def _send_once(before_sending: Callable[[], None] = lambda: None) -> int:
    async with telegram_bot("123456:local-token") as bot:  # initialising the bot calls getMe
        before_sending()
        return await send_message(bot, 4242, "hello")


def test_telegram_flood_control_says_when_to_retry(clean_stack: LocalStack, sink: SinkControl) -> None:
    with pytest.raises(TelegramRetryAfter) as raised:
        asyncio.run(_send_once(lambda: sink.fail_next("telegram", count=1, status=429, retry_after=3)))

    assert raised.value.retry_after == 3
    assert sink.telegram_messages() == []


def test_telegram_server_error_is_retryable(clean_stack: LocalStack, sink: SinkControl) -> None:
    with pytest.raises(Retryable):
        asyncio.run(_send_once(lambda: sink.fail_next("telegram", count=1, status=500)))
    asyncio.run(_send_once())

    assert [m["summary"]["text"] for m in sink.telegram_messages()] == ["hello"]
