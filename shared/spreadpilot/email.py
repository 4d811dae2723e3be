"""Sending email through SendGrid.

Seam: with ``SENDGRID_API_URL`` set (local stack only) the official client posts to the local sink instead of
``https://api.sendgrid.com``.

Errors: 429 and 5xx answers raise ``Retryable``; other 4xx answers raise ``Rejected`` (the message will not
become valid by retrying).
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Attachment, Disposition, FileContent, FileName, FileType, Mail

from spreadpilot.errors import Rejected, Retryable

SENDGRID_API_ENV = "SENDGRID_API_URL"


@dataclass(frozen=True)
class EmailAttachment:
    """A file attached to an email."""

    filename: str
    content: bytes
    mime_type: str


@dataclass(frozen=True)
class EmailMessage:
    """One email to one or more recipients."""

    sender: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None
    attachments: tuple[EmailAttachment, ...] = field(default_factory=tuple)


def sendgrid_client(api_key: str) -> SendGridAPIClient:
    """The official SendGrid client, pointed at the local sink when ``SENDGRID_API_URL`` is set."""
    local_url = os.environ.get(SENDGRID_API_ENV)
    if local_url:
        return SendGridAPIClient(api_key, host=local_url.rstrip("/"))
    return SendGridAPIClient(api_key)


def _mail(message: EmailMessage) -> Mail:
    mail = Mail(
        from_email=message.sender,
        to_emails=list(message.to),
        subject=message.subject,
        plain_text_content=message.text,
        html_content=message.html,
    )
    # The helper inserts each attachment at the front of the list: add them last-first to keep their order.
    for item in reversed(message.attachments):
        mail.add_attachment(
            Attachment(
                FileContent(base64.b64encode(item.content).decode("ascii")),
                FileName(item.filename),
                FileType(item.mime_type),
                Disposition("attachment"),
            )
        )
    return mail


def send_email(client: SendGridAPIClient, message: EmailMessage) -> int:
    """Send ``message``; returns SendGrid's HTTP status (202 = accepted)."""
    try:
        response = client.send(_mail(message))
    except HTTPError as error:
        status = int(getattr(error, "status_code", 0) or 0)
        detail = f"SendGrid answered {status}: {getattr(error, 'body', b'')!r}"
        if status == 429 or status >= 500:
            raise Retryable(detail) from error
        raise Rejected(detail, where="sendgrid") from error
    return int(response.status_code)
