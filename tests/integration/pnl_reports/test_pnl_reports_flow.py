"""Daily and monthly rollups and statements as deployed: functions-framework servers triggered by real Pub/Sub
pushes from the emulator, Firestore on the emulator, the real SendGrid client posting to the sink."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from google.cloud import firestore
from pnl_reports_harness import (
    ADMIN,
    DAYS,
    IBANS,
    MONTH,
    attachment,
    cents,
    docs,
    late_commission,
    pdf_text,
    push_again,
    seed_month,
    serve,
    statements_dir,
    tick,
    wait_for,
    xlsx_values,
)

from spreadpilot.envelopes import StatementRequest, decode, encode
from stack import LocalStack
from stack.topology import PulledMessage, TopicTap


def handled(db: firestore.Client, fid: str, message_id: str) -> bool:
    """The reports function has finished with this request message."""
    return bool(docs(db, "statements").get(f"{fid}:{MONTH}", {}).get("last_request_id") == message_id)


def wait_all_handled(db: firestore.Client, pulled: list[PulledMessage]) -> None:
    """Wait until the reports function has finished with each of these request messages."""
    for message in pulled:
        fid = decode(message.data, StatementRequest).follower_id
        wait_for("a statement request handled", lambda f=fid, m=message.message_id: handled(db, f, m))


def roll_up_days(stack: LocalStack, db: firestore.Client) -> dict[str, dict[str, object]]:
    for day in DAYS:  # as Cloud Scheduler does at 16:30 (an explicit date would be an operator's correction)
        tick(stack, "tick-pnl-daily", {"job": "pnl-daily", "scheduled_at": f"{day.isoformat()}T16:30:00-04:00"})
    return wait_for("six daily documents", lambda: (found := docs(db, "daily_pnl")) and len(found) == 6 and found)


def test_month_end_emails_each_follower_one_statement_whose_files_match_firestore(
    clean_stack: LocalStack, tap: Callable[[str], TopicTap], firestore_db: firestore.Client
) -> None:
    serve(clean_stack)
    seed_month(firestore_db)
    requests_tap = tap("statement-requests")
    daily = roll_up_days(clean_stack, firestore_db)

    tick(clean_stack, "tick-pnl-monthly", {"month": MONTH})  # no job: the topic says which rollup

    emails = wait_for("three statement emails", lambda: (m := clean_stack.sink.emails()) and len(m) >= 3 and m)
    statements = wait_for("three statements recorded as sent", lambda: (s := docs(firestore_db, "statements"))
                          and all(d.get("sends") == 1 for d in s.values()) and len(s) == 3 and s)
    monthly = docs(firestore_db, "monthly_pnl")
    invoices = docs(firestore_db, "invoices")
    assert len(requests_tap.pull(3, timeout_s=10)) == 3
    assert sorted(e["summary"]["to"][0] for e in emails) == ["f01@example.com", "f02@example.com", "f03@example.com"]
    assert len(emails) == 3
    for email in emails:
        fid = email["summary"]["to"][0].split("@")[0]
        m = monthly[f"{fid}:{MONTH}"]
        days = sorted((d for d in daily.values() if d["follower_id"] == fid), key=lambda d: str(d["date"]))
        assert email["summary"]["to"] == [f"{fid}@example.com", ADMIN]
        assert Decimal(str(m["net_pnl"])) == sum(Decimal(str(d["realized_pnl"])) for d in days)

        text = pdf_text(attachment(email, ".pdf"))
        for label in ("net_pnl", "hwm_before", "hwm_after", "commission", "max_drawdown"):
            shown = f"{cents(m[label]):,.2f}"
            assert shown in text, (fid, label, shown)
        assert f"Net P&L {cents(m['net_pnl']):,.2f}" in text
        assert f"Commission {cents(m['commission']):,.2f}" in text
        for d in days:
            assert f"{d['date']} {cents(d['realized_pnl']):,.2f}" in text
        assert IBANS[fid] not in text
        assert IBANS[fid][-4:] in text

        summary, rows = xlsx_values(attachment(email, ".xlsx"))
        assert summary["Net P&L"] == float(cents(m["net_pnl"]))
        assert summary["Commission"] == float(cents(m["commission"]))
        assert summary["High-water mark after"] == float(cents(m["hwm_after"]))
        assert [r[1] for r in rows if r[0] != "Total"] == [float(cents(d["realized_pnl"])) for d in days]
        assert [r[1] for r in rows if r[0] == "Total"] == [float(cents(m["net_pnl"]))]

        stored = statements[f"{fid}:{MONTH}"]
        assert stored["email_status"] == "sent"
        assert (statements_dir(clean_stack) / MONTH / f"statement-{fid}-{MONTH}.pdf").read_bytes()[:5] == b"%PDF-"
        assert stored["pdf_path"].endswith(f"statement-{fid}-{MONTH}.pdf")
        if Decimal(str(m["commission"])) > 0:
            invoice = invoices[f"{fid}:{MONTH}"]
            assert (invoice["iban"], invoice["status"]) == (IBANS[fid], "unpaid")
            assert Decimal(str(invoice["amount"])) == Decimal(str(m["commission"]))
            assert invoice["payment_reference"] == f"SP-{MONTH.replace('-', '')}-{fid}"
            assert invoice["payment_reference"] in text
    # f03 skipped February: March starts from its January standing.
    assert (monthly[f"f03:{MONTH}"]["hwm_before"], monthly[f"f03:{MONTH}"]["equity_before"]) == ("400", "250")
    # f02 started March 100 under water: only the gain above its mark is billed.
    f02 = monthly[f"f02:{MONTH}"]
    billable = Decimal(str(f02["net_pnl"])) - 100
    assert Decimal(str(f02["commission"])) == cents(billable * Decimal("0.25"))


def test_redelivered_or_repeated_requests_send_no_second_email_but_an_explicit_resend_does(
    clean_stack: LocalStack, tap: Callable[[str], TopicTap], firestore_db: firestore.Client
) -> None:
    _, reports_url = serve(clean_stack)
    seed_month(firestore_db)
    requests_tap = tap("statement-requests")
    roll_up_days(clean_stack, firestore_db)
    tick(clean_stack, "tick-pnl-monthly", {"job": "pnl-monthly", "month": MONTH})
    wait_for("three statement emails", lambda: len(clean_stack.sink.emails()) >= 3)
    first = requests_tap.pull(3, timeout_s=10)

    for pulled in first:  # Pub/Sub redelivers the very same messages (each POST returns once handled)
        assert push_again(clean_stack, reports_url, "statement-requests", pulled.data, pulled.message_id) == 200
    data, _ = encode(StatementRequest(follower_id="f01", month=MONTH, requested_by="admin"))
    asked = clean_stack.pubsub.publish("statement-requests", data)  # someone asks again without resend
    wait_for("the repeated request handled", lambda: handled(firestore_db, "f01", asked))
    tick(clean_stack, "tick-pnl-monthly", {"job": "pnl-monthly", "month": MONTH})  # the month is re-run
    wait_all_handled(firestore_db, [p for p in requests_tap.pull(4, timeout_s=20) if p.message_id != asked])
    assert len(clean_stack.sink.emails()) == 3

    resend, _ = encode(StatementRequest(follower_id="f01", month=MONTH, resend=True, requested_by="admin"))
    message_id = clean_stack.pubsub.publish("statement-requests", resend)
    wait_for("the resent email", lambda: len(clean_stack.sink.emails()) == 4)
    assert push_again(clean_stack, reports_url, "statement-requests", resend, message_id) == 200
    emails = clean_stack.sink.emails()
    assert len(emails) == 4
    assert [e["summary"]["to"][0] for e in emails].count("f01@example.com") == 2
    assert docs(firestore_db, "statements")[f"f01:{MONTH}"]["sends"] == 2


def test_rerunning_a_day_rewrites_only_what_changed(clean_stack: LocalStack, firestore_db: firestore.Client) -> None:
    serve(clean_stack)
    seed_month(firestore_db)
    first = roll_up_days(clean_stack, firestore_db)
    assert Decimal(str(first[f"f01:{DAYS[0]}"]["realized_pnl"])) == Decimal("72.90")  # (1.20-0.45)x1x100 - 2x1.05
    assert Decimal(str(first[f"f03:{DAYS[1]}"]["realized_pnl"])) == Decimal("-1292.10")  # -(5-0.70)x3x100 - 2x1.05
    untouched = firestore_db.document(f"daily_pnl/f01:{DAYS[0]}").get().update_time
    late_commission(firestore_db, "f02", DAYS[0])  # f02's commission report reaches the ledger after the rollup

    tick(clean_stack, "tick-pnl-daily", {"job": "pnl-daily", "date": DAYS[0].isoformat()})

    corrected = wait_for("f02's corrected day", lambda: (d := docs(firestore_db, "daily_pnl")[f"f02:{DAYS[0]}"])
                         and d != first[f"f02:{DAYS[0]}"] and d)
    assert Decimal(str(corrected["commissions"])) == Decimal(str(first[f"f02:{DAYS[0]}"]["commissions"])) + 1
    assert firestore_db.document(f"daily_pnl/f01:{DAYS[0]}").get().update_time == untouched
    assert docs(firestore_db, "daily_pnl")[f"f01:{DAYS[0]}"] == first[f"f01:{DAYS[0]}"]


def test_a_corrected_day_flows_into_its_closed_month_updating_an_unpaid_invoice_and_never_a_paid_one(
    clean_stack: LocalStack, tap: Callable[[str], TopicTap], firestore_db: firestore.Client
) -> None:
    serve(clean_stack)
    seed_month(firestore_db)
    roll_up_days(clean_stack, firestore_db)
    tick(clean_stack, "tick-pnl-monthly", {"job": "pnl-monthly", "month": MONTH})
    before = wait_for("both invoices", lambda: (i := docs(firestore_db, "invoices")) and len(i) == 2 and i)
    wait_for("three statements handled", lambda: len(clean_stack.sink.emails()) >= 3)
    firestore_db.document(f"invoices/f01:{MONTH}").update({"status": "paid"})
    for fid in ("f01", "f02"):  # late commission reports for the first day
        late_commission(firestore_db, fid, DAYS[0])
    requests_tap = tap("statement-requests")

    # An operator re-runs the day: the later day and the closed month follow, and the month's statements are
    # requested again (re-rendered; not emailed a second time).
    tick(clean_stack, "tick-pnl-daily", {"job": "pnl-daily", "date": DAYS[0].isoformat()})

    wait_for("the corrected days", lambda: all(
        Decimal(str(docs(firestore_db, "daily_pnl")[f"{fid}:{DAYS[0]}"]["commissions"])) == Decimal("3.10")
        for fid in ("f01", "f02")))
    wait_all_handled(firestore_db, requests_tap.pull(3, timeout_s=20))
    f02_monthly = wait_for("f02's corrected month", lambda: (m := docs(firestore_db, "monthly_pnl")[f"f02:{MONTH}"])
                           and Decimal(str(m["net_pnl"])) == Decimal("232.70") and m)  # 233.70 less the late 1.00
    invoices = wait_for("f02's invoice corrected", lambda: (i := docs(firestore_db, "invoices"))
                        and Decimal(str(i[f"f02:{MONTH}"]["amount"])) == Decimal(str(f02_monthly["commission"])) and i)
    assert Decimal(str(invoices[f"f02:{MONTH}"]["amount"])) == Decimal("33.18")  # (232.70 - 100) x 25 %
    assert invoices[f"f01:{MONTH}"] == before[f"f01:{MONTH}"] | {"status": "paid"}
    assert Decimal(str(docs(firestore_db, "monthly_pnl")[f"f01:{MONTH}"]["commission"])) == Decimal("22.54")
    assert len(clean_stack.sink.emails()) == 3


def test_malformed_requests_and_ticks_are_acknowledged_and_change_nothing(
    clean_stack: LocalStack, firestore_db: firestore.Client
) -> None:
    pnl_url, reports_url = serve(clean_stack)
    seed_month(firestore_db)

    bad_request = push_again(clean_stack, reports_url, "statement-requests", b'{"schema":"statement-request.v9"}', "b1")
    unknown_month = push_again(clean_stack, reports_url, "statement-requests",
                               encode(StatementRequest(follower_id="f01", month="2026-02"))[0], "b2")
    bad_tick = push_again(clean_stack, pnl_url, "tick-pnl-daily", b'{"job":"pnl-weekly"}', "b3")

    assert (bad_request, unknown_month, bad_tick) == (200, 200, 200)  # acked: retrying cannot make them valid
    assert clean_stack.sink.emails() == []
    assert docs(firestore_db, "statements") == {}
    assert docs(firestore_db, "daily_pnl") == {}
