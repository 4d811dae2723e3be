"""The operator bot served by functions-framework as an HTTP webhook, replying through python-telegram-bot to the
sink and publishing operator commands to the Pub/Sub emulator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import requests
from alerts_support import BOT_ENV, OPERATOR, OPS_CHAT, WEBHOOK_SECRET, wait_for
from google.cloud import firestore

from fakes.control import SinkControl
from spreadpilot.envelopes import CommandMessage, decode
from spreadpilot.models import Command, CommandKind
from stack.local_stack import LocalStack
from stack.topology import TopicTap

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class Webhook:
    def __init__(self, url: str) -> None:
        self.url = url

    def send(self, text: str, update_id: int, *, chat: int = int(OPS_CHAT), user: int = OPERATOR,
             secret: str = WEBHOOK_SECRET) -> requests.Response:
        update = {"update_id": update_id, "message": {
            "message_id": update_id, "date": int(datetime.now(UTC).timestamp()), "text": text,
            "chat": {"id": chat, "type": "group", "title": "Ops"},
            "from": {"id": user, "is_bot": False, "first_name": "Operator"}}}
        return requests.post(self.url, json=update, headers={SECRET_HEADER: secret}, timeout=30)


@pytest.fixture
def webhook(clean_stack: LocalStack, serve_function: Callable[..., str]) -> Webhook:
    return Webhook(serve_function("telegram_bot", BOT_ENV) + "/")


def commands(tap: TopicTap, count: int, timeout_s: float = 10.0) -> list[Command]:
    return [decode(m.data, CommandMessage).command for m in tap.pull(count, timeout_s=timeout_s)]


def replies(sink: SinkControl) -> list[str]:
    return [m["summary"]["text"] for m in sink.telegram_messages()]


def test_a_wrong_secret_token_is_refused_and_publishes_nothing(
    webhook: Webhook, tap: Callable[[str], TopicTap], sink: SinkControl
) -> None:
    published = tap("commands")
    assert webhook.send("/pause all", 1, secret="guessed").status_code == 403
    assert webhook.send("/pause all", 2, secret="").status_code == 403
    assert commands(published, 1, timeout_s=2) == []
    assert sink.telegram_messages() == []


def test_a_chat_not_on_the_allowlist_gets_a_short_refusal_and_publishes_nothing(
    webhook: Webhook, tap: Callable[[str], TopicTap], sink: SinkControl, firestore_db: firestore.Client
) -> None:
    published = tap("commands")
    assert webhook.send("/flatten all", 3, chat=-999).status_code == 200
    assert webhook.send("/pause all", 4, user=999).status_code == 200
    assert commands(published, 1, timeout_s=2) == []
    assert replies(sink) == ["Not authorised.", "Not authorised."]
    audits = [d.to_dict() for d in firestore_db.collection("audit").stream()]
    assert sorted(a["action"] for a in audits) == ["telegram.refused", "telegram.refused"]


def test_flatten_publishes_only_after_confirmation_by_the_same_operator(
    webhook: Webhook, tap: Callable[[str], TopicTap], sink: SinkControl
) -> None:
    published = tap("commands")
    webhook.send("/flatten all", 10)
    [request] = commands(published, 1)
    assert (request.kind, request.scope, request.command_id) == (CommandKind.FLATTEN_REQUEST, "all", "tg-10")
    code = request.confirm_code
    assert f"/confirm {code} within 2 minutes" in replies(sink)[0]
    webhook.send("/flatten all", 10)  # Telegram redelivers the same update
    webhook.send("/confirm ZZZZZZ", 11)
    assert commands(published, 1, timeout_s=2) == []
    webhook.send(f"/confirm {code}", 12)
    [confirm] = commands(published, 1)
    assert (confirm.kind, confirm.scope, confirm.confirm_code, confirm.source) == (
        CommandKind.FLATTEN_CONFIRM, "all", code, "telegram")


def test_status_reads_the_executor_heartbeat_from_firestore(
    webhook: Webhook, sink: SinkControl, firestore_db: firestore.Client
) -> None:
    firestore_db.collection("heartbeats").document("executor").set(
        {"at": datetime.now(UTC).isoformat(), "gateways": {"gw1": {"connected": False, "since": None}}})
    assert webhook.send("/status", 20).status_code == 200
    text = wait_for(lambda: replies(sink), "the /status reply")[0]
    assert "Executor: alive" in text
    assert "Gateway gw1: DISCONNECTED" in text


def test_ack_marks_the_alert_acknowledged_by_the_operator(
    webhook: Webhook, sink: SinkControl, firestore_db: firestore.Client
) -> None:
    firestore_db.collection("alerts").document("it-ack-1").set({"alert_id": "it-ack-1", "severity": "WARNING"})
    assert webhook.send("/ack it-ack-1", 30).status_code == 200
    doc = firestore_db.collection("alerts").document("it-ack-1").get().to_dict()
    assert doc["acknowledged_by"] == f"telegram:{OPERATOR}"
    assert replies(sink) == ["Alert it-ack-1 acknowledged."]


def test_pausing_everyone_publishes_only_after_its_code_is_confirmed(
    webhook: Webhook, tap: Callable[[str], TopicTap], sink: SinkControl, firestore_db: firestore.Client
) -> None:
    published = tap("commands")
    webhook.send("/pause", 40)
    assert commands(published, 1, timeout_s=2) == []
    asked = wait_for(lambda: replies(sink), "the /pause reply")[0]
    code = asked.split("/confirm ", 1)[1].split()[0]
    stored = firestore_db.collection("pending_confirmations").document(code).get().to_dict()
    assert (stored["kind"], stored["scope"], stored["requested_by"]) == ("pause_all", "all", f"telegram:{OPERATOR}")
    webhook.send(f"/confirm {code}", 41)
    [pause] = commands(published, 1)
    assert (pause.kind, pause.scope, pause.command_id, pause.source) == (CommandKind.PAUSE, "all", "tg-41",
                                                                         "telegram")


def test_alerts_and_follower_read_firestore_and_show_no_email_or_iban(
    webhook: Webhook, sink: SinkControl, firestore_db: firestore.Client
) -> None:
    now = datetime.now(UTC)
    for n, acked in ((1, None), (2, "telegram:1"), (3, None)):
        firestore_db.collection("alerts").document(f"it-al-{n}").set({
            "alert_id": f"it-al-{n}", "type": "order.rejected", "severity": "CRITICAL", "message": f"rejected {n}",
            "at": now.replace(minute=n).isoformat(), "follower_id": "f01", "acknowledged_by": acked})
    firestore_db.collection("followers").document("f01").set({
        "id": "f01", "name": "Anna Rossi", "email": "anna@example.com", "iban": "DE89370400440532013000",
        "commission_pct": "20", "gateway_id": "gw1", "ibkr_account": "DU001", "enabled": True, "state": "active",
        "multiplier": "1.5", "max_contracts": 4, "daily_loss_limit": "1500"})
    firestore_db.collection("controls").document("f01").set({"entries_paused": True, "reason": "asked by investor",
                                                             "updated_by": "ops@example.com"})
    webhook.send("/alerts", 50)
    webhook.send("/follower f01", 51)
    alerts_reply, follower_reply = wait_for(lambda: len(replies(sink)) == 2 and replies(sink), "both replies")

    assert [line.rsplit("[", 1)[1] for line in alerts_reply.splitlines()[1:]] == ["it-al-3]", "it-al-1]"]
    assert "Follower f01: enabled, active, account DU001 on gateway gw1" in follower_reply
    assert "Sizing: ×1.5, at most 4 contract(s); daily-loss limit $1,500.00" in follower_reply
    assert "PAUSED for this follower: asked by investor (by ops@example.com)" in follower_reply
    assert "anna@example.com" not in follower_reply
    assert "DE89" not in follower_reply


def test_a_long_positions_list_comes_with_a_page_button_that_turns_the_page_in_the_same_message(
    webhook: Webhook, sink: SinkControl, firestore_db: firestore.Client
) -> None:
    now = datetime.now(UTC).isoformat()
    for n in range(1, 31):
        firestore_db.collection("positions").document(f"f{n:02d}:sig").set({
            "follower_id": f"f{n:02d}", "account": f"DU{n:03d}", "signal_id": "sig", "updated_at": now,
            "legs": [{"con_id": 1, "sec_type": "OPT", "right": "P", "strike": "485", "qty": -1}]})
    webhook.send("/positions", 60)
    [sent] = wait_for(lambda: sink.telegram_messages(), "the /positions reply")
    markup = sent["payload"]["reply_markup"]  # python-telegram-bot posts JSON: the field arrives parsed
    assert markup == {"inline_keyboard": [[{"text": "page 2 ›", "callback_data": "positions:2"}]]}
    assert sent["summary"]["text"].startswith("30 open position(s) (page 1 of 2)")

    press = {"update_id": 61, "callback_query": {
        "id": "cb-61", "data": "positions:2", "chat_instance": "1",
        "from": {"id": OPERATOR, "is_bot": False, "first_name": "Operator"},
        "message": {"message_id": int(sent["id"]), "date": 0, "chat": {"id": int(OPS_CHAT), "type": "group"}}}}
    assert requests.post(webhook.url, json=press, headers={SECRET_HEADER: WEBHOOK_SECRET}, timeout=30).ok
    [edit] = wait_for(lambda: sink.received(kind="telegram", method="editMessageText"), "the page turned")
    [answer] = sink.received(kind="telegram", method="answerCallbackQuery")
    assert edit["payload"]["message_id"] == sent["id"]
    assert edit["summary"]["text"].splitlines()[0] == "30 open position(s) (page 2 of 2)"
    assert [line.split()[0] for line in edit["summary"]["text"].splitlines()[1:]] == [f"f{n:02d}" for n in
                                                                                      range(26, 31)]
    assert answer["payload"]["callback_query_id"] == "cb-61"


def test_turning_the_page_of_a_message_telegram_cannot_edit_tells_the_operator_to_ask_again(
    webhook: Webhook, sink: SinkControl
) -> None:
    press = {"update_id": 70, "callback_query": {
        "id": "cb-70", "data": "positions:2", "chat_instance": "1",
        "from": {"id": OPERATOR, "is_bot": False, "first_name": "Operator"},
        "message": {"message_id": 987654, "date": 0, "chat": {"id": int(OPS_CHAT), "type": "group"}}}}
    answer = requests.post(webhook.url, json=press, headers={SECRET_HEADER: WEBHOOK_SECRET}, timeout=30)
    assert answer.status_code == 200  # a redelivery could not edit it either: the operator is told instead
    [refused] = sink.received(kind="telegram", method="editMessageText", include_failed=True)
    [told] = sink.received(kind="telegram", method="answerCallbackQuery")
    assert refused["status"] == 400
    assert told["payload"]["text"] == "That list cannot be updated any more: send /positions again."
