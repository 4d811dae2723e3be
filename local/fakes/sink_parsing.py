"""Decode what clients POST to the sink: JSON, form-encoded (python-telegram-bot) and multipart (files)."""

from __future__ import annotations

import base64
import hashlib
import json
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl


def _maybe_json(text: str) -> Any:
    # python-telegram-bot sends every form field JSON-encoded when it is not a plain string.
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The request's fields and its files (each ``{field, filename, content_type, size, sha256, content_b64}``)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return {}, []
    if kind == "application/json":
        parsed = json.loads(body)
        return (parsed if isinstance(parsed, dict) else {"body": parsed}), []
    if kind == "application/x-www-form-urlencoded":
        return {key: _maybe_json(value) for key, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True)}, []
    if kind == "multipart/form-data":
        return parse_multipart(content_type, body)
    return {"raw": body.decode("utf-8", errors="replace")}, []


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Split a multipart/form-data body into fields and files."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, Any] = {}
    files: list[dict[str, Any]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        decoded = part.get_payload(decode=True)
        payload = decoded if isinstance(decoded, bytes) else b""
        if filename is not None:
            files.append(
                {
                    "field": name,
                    "filename": filename,
                    "content_type": part.get_content_type(),
                    "size": len(payload),
                    "sha256": hashlib.sha256(payload).hexdigest(),
                    "content_b64": base64.b64encode(payload).decode("ascii"),
                }
            )
        elif isinstance(name, str):
            fields[name] = _maybe_json(payload.decode(part.get_content_charset() or "utf-8"))
    return fields, files


def email_summary(payload: dict[str, Any]) -> dict[str, Any]:
    """The parts of a SendGrid v3 mail body tests look at: from, to, subject, attachment names."""
    to = [
        address.get("email")
        for personalization in payload.get("personalizations", [])
        for address in personalization.get("to", [])
    ]
    sender = payload.get("from", {})
    return {
        "from": sender.get("email") if isinstance(sender, dict) else sender,
        "to": to,
        "subject": payload.get("subject")
        or next((p.get("subject") for p in payload.get("personalizations", []) if p.get("subject")), None),
        "attachments": [a.get("filename") for a in payload.get("attachments", [])],
    }
