"""Closing one follower and pausing everyone are confirmed like a flatten: a server-issued code, shown to the
requester only, typed back by the same user before it expires, spent once, audited; nothing is published before."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from admin_harness import AdminClient, new_follower
from google.cloud import firestore

from identity.testing import TokenFactory
from spreadpilot.envelopes import CommandMessage, decode
from stack.topology import TopicTap


def test_pause_everyone_waits_for_the_code_and_only_its_requester_can_confirm_it_once(
    admin: AdminClient, tokens: TokenFactory, tap: Callable[[str], TopicTap], firestore_db: firestore.Client
) -> None:
    commands = tap("commands")
    asked = admin.call("POST", "/controls/pause", {"scope": "all", "reason": "FOMC"})
    assert asked.status_code == 202
    code = asked.json()["confirm_code"]
    assert asked.json()["confirm_path"] == "/actions/confirm"
    assert commands.pull(1, timeout_s=1) == []
    other = AdminClient(admin.base_url, admin.origin, tokens.valid("admin", "other@spreadpilot.local"))
    assert other.call("POST", "/actions/confirm", {"confirm_code": code}).status_code == 403
    assert admin.call("POST", "/actions/confirm", {"confirm_code": "ZZZZ9999"}).status_code == 404
    confirmed = admin.call("POST", "/actions/confirm", {"confirm_code": code})
    assert confirmed.status_code == 202
    assert admin.call("POST", "/actions/confirm", {"confirm_code": code}).status_code == 409
    [pulled] = commands.pull(1, timeout_s=10)
    command = decode(pulled.data, CommandMessage).command
    assert (command.kind, command.scope, command.command_id) == ("pause", "all", confirmed.json()["command_id"])
    assert commands.pull(1, timeout_s=1) == []
    actions = {e["action"] for e in (s.to_dict() for s in firestore_db.collection("audit").stream())}
    assert {"confirmation.pause_all.requested", "confirmation.pause_all.confirmed", "command.pause"} <= actions
    kinds = {s.to_dict()["kind"] for s in firestore_db.collection("events").stream()}
    assert {"confirmation.requested", "command.pause"} <= kinds


def test_an_expired_close_code_is_410_and_pausing_one_follower_needs_no_code(
    admin: AdminClient, tap: Callable[[str], TopicTap], firestore_db: firestore.Client
) -> None:
    admin.call("POST", "/followers", new_follower("f01"))
    code = admin.call("POST", "/followers/f01/close", {}).json()["confirm_code"]
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    firestore_db.collection("pending_confirmations").document(code).update({"expires_at": past})
    commands = tap("commands")
    assert admin.call("POST", "/actions/confirm", {"confirm_code": code}).status_code == 410
    paused = admin.call("POST", "/controls/pause", {"scope": "f01"})
    assert paused.status_code == 202
    assert "confirm_code" not in paused.json()
    [pulled] = commands.pull(1, timeout_s=10)
    assert decode(pulled.data, CommandMessage).command.kind == "pause"


def test_a_flatten_code_is_not_spent_by_the_generic_confirmation(admin: AdminClient) -> None:
    code = admin.call("POST", "/controls/flatten", {"scope": "all"}).json()["confirm_code"]
    refused = admin.call("POST", "/actions/confirm", {"confirm_code": code})
    assert refused.status_code == 409
    assert "/controls/flatten/confirm" in refused.json()["error"]["message"]
