"""Asking for a statement again from the app: regenerate (files afresh, no second e-mail) and resend publish a
StatementRequest to the real ``statement-requests`` topic the reports function is pushed from, audited; a month
that was never closed, or a statement never made, is refused with what to do, and a viewer asks for nothing."""

from __future__ import annotations

from collections.abc import Callable

from admin_harness import AdminClient
from google.cloud import firestore

from spreadpilot.envelopes import StatementRequest, decode
from stack.topology import TopicTap


def test_an_admin_regenerates_then_resends_a_statement_and_wrong_asks_are_refused_with_the_reason(
    admin: AdminClient, viewer: AdminClient, tap: Callable[[str], TopicTap], firestore_db: firestore.Client
) -> None:
    requests_topic = tap("statement-requests")
    firestore_db.collection("monthly_pnl").document("f01:2026-03").set({"follower_id": "f01", "month": "2026-03"})

    never_made = admin.call("POST", "/statements/f01:2026-03/resend")
    regenerated = admin.call("POST", "/statements/f01:2026-03/regenerate")
    firestore_db.collection("statements").document("f01:2026-03").set({"follower_id": "f01", "month": "2026-03"})
    resent = admin.call("POST", "/statements/f01:2026-03/resend")
    not_closed = admin.call("POST", "/statements/f01:2026-04/regenerate")
    malformed = admin.call("POST", "/statements/f01:march/regenerate")
    by_viewer = viewer.call("POST", "/statements/f01:2026-03/resend")

    asked = [decode(m.data, StatementRequest) for m in requests_topic.pull(2, timeout_s=10)]
    assert (never_made.status_code, regenerated.status_code, resent.status_code) == (409, 200, 200)
    assert "regenerate it first" in never_made.json()["error"]["message"]
    assert [(r.follower_id, r.month, r.resend, r.requested_by) for r in asked] == [
        ("f01", "2026-03", False, "admin@spreadpilot.local"), ("f01", "2026-03", True, "admin@spreadpilot.local")]
    assert not_closed.status_code == 404
    assert "the monthly rollup has not run" in not_closed.json()["error"]["message"]
    assert malformed.status_code == 400
    assert by_viewer.status_code == 403
    assert requests_topic.pull(1, timeout_s=2) == []
    audits = sorted(d.to_dict()["action"] for d in firestore_db.collection("audit").stream()
                    if (d.to_dict() or {}).get("action", "").startswith("statement."))
    assert audits == ["statement.regenerate", "statement.resend"]
