"""The statement email: composed here, sent through ``spreadpilot.email`` (SendGrid) behind a small Protocol."""

from __future__ import annotations

from typing import Any, Protocol

from reports.data import StatementData, money, month_title
from spreadpilot.email import EmailAttachment, EmailMessage, send_email
from spreadpilot.money import format_pct

PDF_TYPE = "application/pdf"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Mailer(Protocol):
    """Sends one email; returns the provider's HTTP status. Raises ``Retryable`` or ``Rejected``."""

    def send(self, message: EmailMessage) -> int:
        """Send ``message``."""
        ...


class SendGridMailer:
    """The real mailer: the shared SendGrid client (honours ``SENDGRID_API_URL`` on the local stack)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def send(self, message: EmailMessage) -> int:
        """Send through SendGrid."""
        return send_email(self.client, message)


def statement_email(
    data: StatementData, pdf: bytes, xlsx: bytes, *, sender: str, admin_copy: str = ""
) -> EmailMessage:
    """The follower's statement email with both files attached (and the admin on copy when configured)."""
    s = data.statement
    currency = data.currency
    lines = [
        f"Dear {data.follower_name},",
        "",
        f"attached is your {data.company} statement for {month_title(data.month)} (PDF and Excel), "
        f"IBKR account {data.ibkr_account}.",
        "",
        f"Net P&L: {money(s.net_pnl)} {currency}",
        f"High-water mark: {money(s.hwm_before)} before, {money(s.hwm_after)} after",
        f"Commission ({format_pct(s.commission_pct)} of the billable gain of {money(s.billable_gain)}): "
        f"{money(s.commission)} {currency}",
    ]
    if data.invoice is not None:
        invoice = data.invoice
        for adj in invoice.adjustments:
            lines.append(f"Adjustment for {adj.month}: {money(adj.amount)} {invoice.currency}")
        due = "Credit note" if invoice.amount < 0 else "Amount due"
        lines.append(f"{due}: {money(invoice.amount)} {invoice.currency}")
        lines.append(f"Payment reference: {invoice.payment_reference} (account {data.iban_masked})")
    lines += ["", f"— {data.company}"]
    recipients = (data.follower_email,) + ((admin_copy,) if admin_copy and admin_copy != data.follower_email else ())
    return EmailMessage(
        sender=sender,
        to=recipients,
        subject=f"{data.company} statement {month_title(data.month)} — {data.follower_name}",
        text="\n".join(lines),
        attachments=(
            EmailAttachment(f"{data.file_stem()}.pdf", pdf, PDF_TYPE),
            EmailAttachment(f"{data.file_stem()}.xlsx", xlsx, XLSX_TYPE),
        ),
    )
