"""How the sink decodes what SendGrid and python-telegram-bot send."""

from __future__ import annotations

import base64

from fakes.secret_manager import crc32c
from fakes.sink_parsing import email_summary, parse_body


def test_form_fields_are_json_decoded_like_python_telegram_bot_encodes_them() -> None:
    fields, files = parse_body(
        "application/x-www-form-urlencoded", b"chat_id=4242&text=hello+world&disable_notification=true"
    )

    assert fields == {"chat_id": 4242, "text": "hello world", "disable_notification": True}
    assert files == []


def test_multipart_splits_fields_and_files() -> None:
    body = (
        b"--XX\r\n"
        b'Content-Disposition: form-data; name="chat_id"\r\n\r\n'
        b"4242\r\n"
        b"--XX\r\n"
        b'Content-Disposition: form-data; name="document"; filename="report.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n"
        b"%PDF-1.4\r\n"
        b"--XX--\r\n"
    )

    fields, files = parse_body("multipart/form-data; boundary=XX", body)

    assert fields == {"chat_id": 4242}
    assert [(f["field"], f["filename"], f["content_type"], f["size"]) for f in files] == [
        ("document", "report.pdf", "application/pdf", 8)
    ]
    assert base64.b64decode(files[0]["content_b64"]) == b"%PDF-1.4"


def test_email_summary_reads_recipients_subject_and_attachment_names() -> None:
    payload = {
        "from": {"email": "reports@x"},
        "personalizations": [{"to": [{"email": "a@x"}, {"email": "b@x"}]}],
        "subject": "Statement",
        "attachments": [{"filename": "s.pdf", "content": "AA=="}],
    }

    assert email_summary(payload) == {
        "from": "reports@x",
        "to": ["a@x", "b@x"],
        "subject": "Statement",
        "attachments": ["s.pdf"],
    }


def test_crc32c_matches_the_standard_check_value() -> None:
    assert crc32c(b"123456789") == 0xE3069283
