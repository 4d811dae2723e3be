"""One statement request: render the PDF and XLSX, store them, email them once.

A month with a day that did not reconcile with the broker is rendered but not sent (``email_status: waiting``):
the re-run that reconciles it requests the statement again.
The email is sent once per follower and month (claim ``statement-email:{f}:{month}``). A request with
``resend: true`` sends again, once per request message (claim keyed by the Pub/Sub message id), so a redelivered
resend request does not send a third time. Files are re-rendered on every request: a corrected month gets
corrected files, even when no email goes out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from reports.data import IBAN_MASK, StatementData
from reports.pdf import render_pdf
from reports.records import StatementInputs, StatementRecords
from reports.send import PDF_TYPE, XLSX_TYPE, Mailer, statement_email
from reports.settings import ReportsSettings
from reports.storage import StatementStorage
from reports.xlsx import render_xlsx
from spreadpilot.envelopes import StatementRequest
from spreadpilot.errors import Rejected, Retryable
from spreadpilot.models import mask_iban

log = logging.getLogger(__name__)
ACCOUNT_CURRENCY = "USD"  # a month without an invoice is shown in the accounts' currency


@dataclass(frozen=True)
class Delivered:
    """What one request did."""

    pdf_path: str
    xlsx_path: str
    emailed: bool


def statement_data(inputs: StatementInputs, company: str, generated_at: datetime) -> StatementData:
    """The statement's content (the IBAN masked but for its last 4)."""
    follower = inputs.follower
    return StatementData(
        company=company,
        follower_id=follower.id,
        follower_name=follower.name,
        follower_email=follower.email,
        ibkr_account=follower.ibkr_account,
        iban_masked=mask_iban(follower.iban, IBAN_MASK),
        month=inputs.statement.month,
        currency=inputs.invoice.currency if inputs.invoice else ACCOUNT_CURRENCY,
        statement=inputs.statement,
        days=inputs.days,
        trades=inputs.trades,
        settlements=inputs.settlements,
        opening=inputs.opening,
        closing=inputs.closing,
        invoice=inputs.invoice,
        generated_at=generated_at,
    )


def send_key(request: StatementRequest, delivery_id: str) -> str:
    """The idempotency key of this request's email."""
    base = f"statement-email:{request.follower_id}:{request.month}"
    return f"{base}:resend:{delivery_id}" if request.resend else base


def deliver_statement(
    request: StatementRequest,
    delivery_id: str,
    now: datetime,
    records: StatementRecords,
    storage: StatementStorage,
    mailer: Mailer,
    settings: ReportsSettings,
) -> Delivered:
    """Render, store and (once) email one follower's statement of one month."""
    context = {"follower_id": request.follower_id, "month": request.month, "resend": request.resend}
    inputs = records.load(request.follower_id, request.month)
    if inputs is None:
        raise Rejected(f"no follower or no monthly statement for {request.follower_id} {request.month}",
                       where="statement request")
    data = statement_data(inputs, settings.company_name, now)
    pdf, xlsx = render_pdf(data), render_xlsx(data)
    folder = f"{request.month}/"
    pdf_path = storage.save(f"{folder}{data.file_stem()}.pdf", pdf, PDF_TYPE)
    xlsx_path = storage.save(f"{folder}{data.file_stem()}.xlsx", xlsx, XLSX_TYPE)
    s = data.statement
    records.record_files(request.follower_id, request.month, {
        "pdf_path": pdf_path, "xlsx_path": xlsx_path, "generated_at": now.isoformat(),
        "net_pnl": str(s.net_pnl), "commission": str(s.commission), "commission_pct": str(s.commission_pct),
        "hwm_before": str(s.hwm_before), "hwm_after": str(s.hwm_after),
        "payment_reference": data.invoice.payment_reference if data.invoice else None,
        "requested_by": request.requested_by, "last_request_id": delivery_id,
    })
    unreconciled = data.unreconciled()
    if unreconciled:
        # A day that does not agree with the broker is not sent to a follower: the statement waits for the re-run
        # that reconciles it (which requests the statement again).
        waiting = ", ".join(d.isoformat() for d in unreconciled)
        records.record_files(request.follower_id, request.month, {"email_status": "waiting",
                                                                  "waiting_for": f"unreconciled days: {waiting}"})
        log.warning("statement waits: unreconciled days", extra={**context, "days": waiting})
        return Delivered(pdf_path, xlsx_path, emailed=False)
    key = send_key(request, delivery_id)
    if request.resend:
        # A resend also takes the ordinary key, so an ordinary request afterwards does not send once more.
        records.claim_send(send_key(request.model_copy(update={"resend": False}), delivery_id), now)
    if not records.claim_send(key, now):
        log.info("statement already emailed: not sending again", extra={**context, "claim": key})
        return Delivered(pdf_path, xlsx_path, emailed=False)
    message = statement_email(data, pdf, xlsx, sender=settings.statement_sender,
                              admin_copy=settings.statement_admin_copy)
    try:
        status = mailer.send(message)
    except Retryable as exc:
        records.release_send(key, str(exc))
        records.record_files(request.follower_id, request.month, {"email_status": "retrying"})
        raise
    except Rejected as exc:
        records.release_send(key, str(exc))
        records.record_files(request.follower_id, request.month, {"email_status": "rejected"})
        raise
    records.record_sent(request.follower_id, request.month, now, "sent" if 200 <= status < 300 else str(status))
    log.info("statement emailed", extra={**context, "status": status, "attachments": 2})
    return Delivered(pdf_path, xlsx_path, emailed=True)
