"""The operator bot on a bad day (issue 14): every update gets a clear reply and an audit record, a mistyped follower
id or a code from another front end publishes nothing."""

from __future__ import annotations

from datetime import timedelta

from bot_fakes import NOW, OPERATOR
from test_operator_bot import Rig

from spreadpilot.confirmations import MalformedConfirmation, PendingConfirmation


def test_pause_of_a_mistyped_follower_id_is_refused_with_the_known_ids_and_publishes_nothing() -> None:
    rig = Rig()
    reply = rig.say("/pause f0l")
    assert reply == "No follower 'f0l': nothing was sent. Followers: f01, f02, f03."
    assert rig.publisher.published == []
    assert rig.store.audits[-1]["outcome"] == "unknown_follower"


def test_flatten_of_an_unknown_follower_is_refused_and_issues_no_code() -> None:
    rig = Rig()
    assert rig.say("/flatten ghost").startswith("No follower 'ghost'")
    assert rig.publisher.published == []
    assert rig.store.confirmations == {}


def test_resume_and_pnl_of_an_unknown_follower_say_so_too() -> None:
    rig = Rig()
    assert rig.say("/resume f9", update_id=2).startswith("No follower 'f9'")
    assert rig.say("/pnl f9", update_id=3).startswith("No follower 'f9'")
    assert rig.publisher.published == []


def test_confirm_with_a_code_issued_by_the_web_app_says_where_to_confirm_it_and_publishes_nothing() -> None:
    rig = Rig()
    rig.store.confirmations["WEB12345"] = PendingConfirmation(
        code="WEB12345", scope="all", requested_by="admin@spreadpilot.local", requested_uid="uid-admin",
        source="web", expires_at=NOW + timedelta(minutes=2))
    reply = rig.say("/confirm WEB12345")
    assert reply == ("Code WEB12345 was issued in the web app to admin@spreadpilot.local for a flatten of all: "
                     "confirm it there. Nothing was sent.")
    assert rig.publisher.published == []
    assert rig.store.audits[-1]["outcome"] == "issued_elsewhere"


def test_confirm_with_a_code_of_another_kind_is_not_a_flatten() -> None:
    rig = Rig()
    rig.store.confirmations["CLOSE123"] = PendingConfirmation(
        code="CLOSE123", kind="close_follower", scope="f01", requested_by=f"telegram:{OPERATOR}",
        expires_at=NOW + timedelta(minutes=2))
    assert "not a flatten" in rig.say("/confirm CLOSE123")
    assert rig.publisher.published == []


def test_an_unreadable_pending_confirmation_gets_a_reply_instead_of_a_crash() -> None:
    rig = Rig()

    def damaged(code: str) -> PendingConfirmation | None:
        raise MalformedConfirmation(f"pending_confirmations/{code} is malformed: expires_at: Field required")

    rig.store.get_confirmation = damaged  # type: ignore[method-assign]
    assert "cannot be read" in rig.say("/confirm ABC123")
    assert rig.store.audits[-1]["outcome"] == "malformed"
    assert rig.publisher.published == []


def test_a_redelivered_confirm_publishes_once_and_answers_the_same() -> None:
    rig = Rig()
    rig.say("/flatten all", update_id=10)
    code = rig.publisher.commands()[0].confirm_code
    first = rig.say(f"/confirm {code}", update_id=11)
    again = rig.say(f"/confirm {code}", update_id=11)  # Telegram redelivers the same update
    assert first == again
    assert [c.kind for c in rig.publisher.commands()] == ["flatten_request", "flatten_confirm"]
