"""Controls publish CommandMessages (source web) to the real ``commands`` topic; flatten needs a confirmation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from admin_harness import AdminClient, new_follower
from google.cloud import firestore

from identity.testing import TokenFactory
from spreadpilot.envelopes import CommandMessage, decode
from stack.topology import TopicTap


def _commands(tap: TopicTap, count: int) -> list[CommandMessage]:
    return [decode(m.data, CommandMessage) for m in tap.pull(count, timeout_s=10)]


def test_pausing_one_follower_publishes_a_pause_command_for_it(
    admin: AdminClient, tap: Callable[[str], TopicTap], firestore_db: firestore.Client
) -> None:
    admin.call("POST", "/followers", new_follower("f01"))
    commands = tap("commands")
    response = admin.call("POST", "/controls/pause", {"scope": "f01", "reason": "client asked"})

    assert response.status_code == 202
    [message] = _commands(commands, 1)
    assert message.command.kind == "pause"
    assert message.command.scope == "f01"
    assert message.command.source == "web"
    assert message.command.issued_by == "admin@spreadpilot.local"
    assert message.command.command_id == response.json()["command_id"]
    audit = [snap.to_dict() for snap in firestore_db.collection("audit").stream()]
    assert any(a["action"] == "command.pause" and a["scope"] == "f01" for a in audit)
    recorded = firestore_db.collection("commands").document(message.command.command_id).get().to_dict()
    assert recorded["kind"] == "pause"
    assert recorded["published_message_id"] == response.json()["message_id"]


def test_resume_and_reconcile_publish_their_commands(admin: AdminClient, tap: Callable[[str], TopicTap]) -> None:
    commands = tap("commands")
    admin.call("POST", "/controls/resume", {"scope": "all"})
    admin.call("POST", "/controls/reconcile", {})
    kinds = sorted(m.command.kind for m in _commands(commands, 2))
    assert kinds == ["reconcile", "resume"]


def test_a_control_for_an_unknown_follower_is_refused_and_publishes_nothing(
    admin: AdminClient, tap: Callable[[str], TopicTap]
) -> None:
    commands = tap("commands")
    response = admin.call("POST", "/controls/pause", {"scope": "ghost"})
    assert response.status_code == 404
    assert response.json()["error"]["where"] == "body.scope"
    assert commands.pull(1, timeout_s=1) == []


def test_flatten_needs_the_same_users_confirmation_code(
    admin: AdminClient, tap: Callable[[str], TopicTap], tokens: TokenFactory, firestore_db: firestore.Client
) -> None:
    commands = tap("commands")
    requested = admin.call("POST", "/controls/flatten", {"scope": "all", "reason": "market halt"}).json()
    code = requested["confirm_code"]
    other_admin = tokens.valid("admin", "ops2@spreadpilot.local")
    by_other = admin.call("POST", "/controls/flatten/confirm", {"confirm_code": code}, token=other_admin)
    wrong = admin.call("POST", "/controls/flatten/confirm", {"confirm_code": "ZZZZ9999"})
    confirmed = admin.call("POST", "/controls/flatten/confirm", {"confirm_code": code})
    twice = admin.call("POST", "/controls/flatten/confirm", {"confirm_code": code})

    assert by_other.status_code == 403
    assert wrong.status_code == 404
    assert confirmed.status_code == 202
    assert twice.status_code == 409
    published = _commands(commands, 2)
    assert [(m.command.kind, m.command.confirm_code, m.command.scope) for m in published] == [
        ("flatten_request", code, "all"), ("flatten_confirm", code, "all")]
    pending = firestore_db.collection("pending_confirmations").document(code).get().to_dict()
    assert pending["requested_by"] == "admin@spreadpilot.local"
    assert pending["confirmed_by"] == "admin@spreadpilot.local"


def test_an_expired_flatten_code_cannot_be_confirmed(
    admin: AdminClient, tap: Callable[[str], TopicTap], firestore_db: firestore.Client
) -> None:
    code = admin.call("POST", "/controls/flatten", {"scope": "all"}).json()["confirm_code"]
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    firestore_db.collection("pending_confirmations").document(code).update({"expires_at": past})
    commands = tap("commands")
    response = admin.call("POST", "/controls/flatten/confirm", {"confirm_code": code})
    assert response.status_code == 410
    assert commands.pull(1, timeout_s=1) == []


def test_closing_one_follower_publishes_close_follower_once_its_code_is_typed_back(
    admin: AdminClient, tap: Callable[[str], TopicTap]
) -> None:
    admin.call("POST", "/followers", new_follower("f01"))
    commands = tap("commands")
    asked = admin.call("POST", "/followers/f01/close", {"reason": "account closed"})
    assert asked.status_code == 202
    assert commands.pull(1, timeout_s=1) == []
    assert admin.call("POST", "/actions/confirm", {"confirm_code": asked.json()["confirm_code"]}).status_code == 202
    [message] = _commands(commands, 1)
    assert (message.command.kind, message.command.scope) == ("close_follower", "f01")


def test_controls_view_shows_the_executors_kill_switches(admin: AdminClient, firestore_db: firestore.Client) -> None:
    firestore_db.collection("controls").document("global").set({"entries_paused": True, "by": "executor"})
    firestore_db.collection("controls").document("f01").set({"entries_paused": False})
    view = admin.call("GET", "/controls").json()
    assert view["global"]["entries_paused"] is True
    assert view["followers"]["f01"]["entries_paused"] is False
