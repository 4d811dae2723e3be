"""A confirmation code issued by the web app, typed into Telegram; follower ids mistyped on Telegram. Each gets a
clear reply and an audit record, and nothing reaches the executor (the real served admin API and bot, the Firestore
and Pub/Sub emulators, replies read back from the Telegram sink)."""

from __future__ import annotations

from collections.abc import Callable

from front_ends import AdminClient, Webhook, audits, replies, wait_for
from google.cloud import firestore

from fakes.control import SinkControl
from spreadpilot.envelopes import CommandMessage, decode
from spreadpilot.models import CommandKind
from spreadpilot.store import FOLLOWERS
from stack.topology import TopicTap


def test_confirm_on_telegram_with_a_code_issued_by_the_web_app_gets_a_clear_reply_and_an_audit_record(
        admin: AdminClient, webhook: Webhook, sink: SinkControl, firestore_db: firestore.Client,
        tap: Callable[[str], TopicTap]) -> None:
    commands = tap("commands")
    requested = admin.call("POST", "/controls/flatten", {"scope": "all", "reason": "from the web app"})
    assert requested.status_code == 202
    code = requested.json()["confirm_code"]

    response = webhook.send(f"/confirm {code}", 9101)

    assert response.status_code == 200  # answered, not a 500 that Telegram would redeliver forever
    [reply] = wait_for(lambda: replies(sink), "the bot's reply")
    assert reply.startswith(f"Code {code} was issued in the web app to admin@spreadpilot.local")
    assert "confirm it there" in reply
    [record] = wait_for(lambda: audits(firestore_db, "telegram.confirm"), "the audit record")
    assert (record["outcome"], record["arg"], record["actor"]) == ("issued_elsewhere", code, "telegram:5151")
    sent = [decode(m.data, CommandMessage).command.kind for m in commands.pull(5, timeout_s=3)]
    assert sent == [CommandKind.FLATTEN_REQUEST]  # the web app's request only: no confirm went out
    pending = firestore_db.collection("pending_confirmations").document(code).get().to_dict() or {}
    assert pending.get("confirmed_at") is None  # the code is still the web user's to confirm


def test_a_mistyped_follower_id_on_telegram_gets_a_clear_reply_and_an_audit_record_and_publishes_nothing(
        webhook: Webhook, sink: SinkControl, firestore_db: firestore.Client,
        tap: Callable[[str], TopicTap]) -> None:
    firestore_db.collection(FOLLOWERS).document("f01").set({"id": "f01"})
    commands = tap("commands")

    assert webhook.send("/pause f0l", 9201).status_code == 200
    assert webhook.send("/flatten f0l", 9202).status_code == 200

    answers = wait_for(lambda: r if len(r := replies(sink)) == 2 else None, "both replies")
    assert answers == ["No follower 'f0l': nothing was sent. Followers: f01."] * 2
    outcomes = [(a["action"], a["outcome"]) for a in (*audits(firestore_db, "telegram.pause"),
                                                      *audits(firestore_db, "telegram.flatten"))]
    assert sorted(outcomes) == [("telegram.flatten", "unknown_follower"), ("telegram.pause", "unknown_follower")]
    assert commands.pull(5, timeout_s=3) == []
    assert list(firestore_db.collection("pending_confirmations").stream()) == []  # no code issued for nobody


def test_confirm_on_telegram_with_a_code_the_admin_api_stored_without_a_code_field_is_answered_not_a_500(
        webhook: Webhook, sink: SinkControl, firestore_db: firestore.Client) -> None:
    # the document exactly as the admin API wrote it before the shared schema: the code is only the document id
    firestore_db.collection("pending_confirmations").document("WEB12345").set({
        "scope": "all", "kind": "flatten", "requested_by": "admin@spreadpilot.local", "requested_uid": "uid-admin",
        "requested_at": "2026-03-17T14:00:00+00:00", "expires_at": "2099-01-01T00:00:00+00:00", "reason": ""})

    response = webhook.send("/confirm WEB12345", 9301)

    assert response.status_code == 200
    [reply] = wait_for(lambda: replies(sink), "the bot's reply")
    assert reply.startswith("Code WEB12345 was issued in the web app to admin@spreadpilot.local")
    [record] = wait_for(lambda: audits(firestore_db, "telegram.confirm"), "the audit record")
    assert record["outcome"] == "issued_elsewhere"
