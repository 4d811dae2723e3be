"""Delivering a statement: stored, emailed once with both files, admin copied; resends only when asked."""

from __future__ import annotations

import pytest
from reports_fixtures import GENERATED, MONTH, MemoryStatementRecords, MemoryStorage, RecordingMailer, inputs

from reports.send import PDF_TYPE, XLSX_TYPE
from reports.settings import ReportsSettings
from reports.statement import deliver_statement
from spreadpilot.envelopes import StatementRequest
from spreadpilot.errors import Rejected, Retryable


@pytest.fixture
def records() -> MemoryStatementRecords:
    memory = MemoryStatementRecords()
    memory.inputs[f"f01:{MONTH}"] = inputs("f01")
    return memory


def deliver(records: MemoryStatementRecords, storage: MemoryStorage, mailer: RecordingMailer,
            settings: ReportsSettings, *, resend: bool = False, delivery: str = "m1") -> object:
    request = StatementRequest(follower_id="f01", month=MONTH, resend=resend)
    return deliver_statement(request, delivery, GENERATED, records, storage, mailer, settings)


def test_statement_is_stored_and_emailed_with_both_files_and_the_admin_copied(
    records: MemoryStatementRecords, settings: ReportsSettings
) -> None:
    storage, mailer = MemoryStorage(), RecordingMailer()

    deliver(records, storage, mailer, settings)

    assert sorted(storage.files) == [f"{MONTH}/statement-f01-{MONTH}.pdf", f"{MONTH}/statement-f01-{MONTH}.xlsx"]
    [email] = mailer.sent
    assert email.to == ("f01@example.com", "admin@spreadpilot.example")
    assert [(a.filename, a.mime_type) for a in email.attachments] == [
        (f"statement-f01-{MONTH}.pdf", PDF_TYPE), (f"statement-f01-{MONTH}.xlsx", XLSX_TYPE)]
    assert [a.content for a in email.attachments] == [storage.files[f"{MONTH}/statement-f01-{MONTH}.pdf"],
                                                      storage.files[f"{MONTH}/statement-f01-{MONTH}.xlsx"]]
    doc = records.statements[f"f01:{MONTH}"]
    assert (doc["sends"], doc["email_status"]) == (1, "sent")
    assert doc["pdf_path"] == f"mem://{MONTH}/statement-f01-{MONTH}.pdf"


def test_a_redelivered_request_sends_no_second_email(
    records: MemoryStatementRecords, settings: ReportsSettings
) -> None:
    storage, mailer = MemoryStorage(), RecordingMailer()
    deliver(records, storage, mailer, settings, delivery="m1")

    deliver(records, storage, mailer, settings, delivery="m1")
    deliver(records, storage, mailer, settings, delivery="m2")  # the monthly rollup re-run asks again

    assert len(mailer.sent) == 1
    assert records.statements[f"f01:{MONTH}"]["sends"] == 1


def test_an_explicit_resend_sends_once_more_even_if_redelivered(
    records: MemoryStatementRecords, settings: ReportsSettings
) -> None:
    storage, mailer = MemoryStorage(), RecordingMailer()
    deliver(records, storage, mailer, settings)

    deliver(records, storage, mailer, settings, resend=True, delivery="m7")
    deliver(records, storage, mailer, settings, resend=True, delivery="m7")

    assert len(mailer.sent) == 2
    assert records.statements[f"f01:{MONTH}"]["sends"] == 2


def test_a_transient_email_failure_is_retried_and_then_sent_once(
    records: MemoryStatementRecords, settings: ReportsSettings
) -> None:
    storage, mailer = MemoryStorage(), RecordingMailer()
    mailer.failures = 1

    with pytest.raises(Retryable):
        deliver(records, storage, mailer, settings)
    deliver(records, storage, mailer, settings)
    deliver(records, storage, mailer, settings)

    assert len(mailer.sent) == 1
    assert records.statements[f"f01:{MONTH}"]["email_status"] == "sent"


def test_a_request_for_a_month_without_a_statement_is_rejected(
    records: MemoryStatementRecords, settings: ReportsSettings
) -> None:
    storage, mailer = MemoryStorage(), RecordingMailer()

    with pytest.raises(Rejected, match="no monthly statement"):
        deliver_statement(StatementRequest(follower_id="f01", month="2026-02"), "m1", GENERATED, records, storage,
                          mailer, settings)
    assert mailer.sent == []


def test_the_email_body_never_carries_the_full_iban(
    records: MemoryStatementRecords, settings: ReportsSettings
) -> None:
    mailer = RecordingMailer()
    deliver(records, MemoryStorage(), mailer, settings)

    iban = records.inputs[f"f01:{MONTH}"].follower.iban
    assert iban not in mailer.sent[0].text
    assert iban[-4:] in mailer.sent[0].text
    assert "SP-202603-f01" in mailer.sent[0].text


def test_sender_and_admin_copy_also_read_the_shared_email_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "spreadpilot-test")
    monkeypatch.setenv("SPREADPILOT_EMAIL_FROM", "ops@spreadpilot.example")
    monkeypatch.setenv("SPREADPILOT_ADMIN_EMAIL", "boss@spreadpilot.example")

    settings = ReportsSettings()

    assert (settings.statement_sender, settings.statement_admin_copy) == (
        "ops@spreadpilot.example", "boss@spreadpilot.example")


def test_an_ordinary_request_after_a_resend_sends_nothing_more(
    records: MemoryStatementRecords, settings: ReportsSettings
) -> None:
    storage, mailer = MemoryStorage(), RecordingMailer()

    deliver(records, storage, mailer, settings, resend=True, delivery="m1")
    deliver(records, storage, mailer, settings, delivery="m2")

    assert len(mailer.sent) == 1
