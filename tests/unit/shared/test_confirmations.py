"""The one schema of pending confirmations (admin API, bot, executor) and who may confirm a code when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from spreadpilot.confirmations import MalformedConfirmation, PendingConfirmation, Verdict, from_doc, verdict

NOW = datetime(2026, 3, 17, 14, 0, tzinfo=UTC)


def web_code(**changes: object) -> PendingConfirmation:
    doc: dict[str, object] = {"scope": "all", "kind": "flatten", "requested_by": "admin@spreadpilot.local",
                              "requested_uid": "uid-1", "expires_at": (NOW + timedelta(minutes=2)).isoformat()}
    return from_doc("WEB12345", {**doc, **changes})


def test_a_document_without_a_code_field_reads_its_code_from_the_document_id() -> None:
    # what the admin API stored before the shared schema
    pending = web_code(requested_at=NOW.isoformat(), reason="")
    assert (pending.code, pending.scope, pending.issued_in) == ("WEB12345", "all", "the web app")


def test_fields_of_other_writers_are_ignored_and_a_broken_document_says_what_is_wrong() -> None:
    assert web_code(some_later_field=1).scope == "all"
    with pytest.raises(MalformedConfirmation, match="expires_at"):
        from_doc("WEB12345", {"scope": "all", "requested_by": "x"})


def test_a_web_code_is_confirmed_by_the_same_uid_only_and_once_and_in_time() -> None:
    pending = web_code()
    assert verdict(pending, actor="admin@spreadpilot.local", uid="uid-1", now=NOW) is Verdict.OK
    assert verdict(pending, actor="admin@spreadpilot.local", uid="uid-2", now=NOW) is Verdict.OTHER_REQUESTER
    assert verdict(pending, actor="telegram:5151", uid=None, now=NOW) is Verdict.OTHER_REQUESTER
    assert verdict(pending, actor="x", uid="uid-1", now=NOW + timedelta(minutes=3)) is Verdict.EXPIRED
    spent = pending.model_copy(update={"confirmed_at": NOW})
    assert verdict(spent, actor="x", uid="uid-1", now=NOW) is Verdict.CONFIRMED
    assert verdict(None, actor="x", uid="uid-1", now=NOW) is Verdict.UNKNOWN


def test_a_telegram_code_is_confirmed_by_the_same_telegram_user() -> None:
    pending = PendingConfirmation(code="TG1234", scope="f01", requested_by="telegram:5151", source="telegram",
                                  chat_id=-100, expires_at=NOW + timedelta(minutes=2))
    assert verdict(pending, actor="telegram:5151", uid=None, now=NOW) is Verdict.OK
    assert verdict(pending, actor="telegram:6262", uid=None, now=NOW) is Verdict.OTHER_REQUESTER
    assert pending.issued_in == "Telegram"
