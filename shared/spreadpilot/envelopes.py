"""Versioned Pub/Sub messages for ``signals``, ``commands`` and ``alerts``, decoded at the edge.

A message is JSON ``{"schema": "<name>.v<N>", ...}``; the same schema name travels as the ``schema`` attribute.
Decoding bad input raises ``Rejected`` with a message that says what is wrong and where.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Literal, TypeVar

from pydantic import BaseModel, ValidationError

from spreadpilot.errors import Rejected
from spreadpilot.models import Alert, Command, Frozen, Signal


class SignalMessage(Frozen):
    schema_: Literal["signal.v1"] = "signal.v1"
    signal: Signal


class CommandMessage(Frozen):
    schema_: Literal["command.v1"] = "command.v1"
    command: Command


class AlertMessage(Frozen):
    schema_: Literal["alert.v1"] = "alert.v1"
    alert: Alert


class StatementRequest(Frozen):
    """Ask the reports function for one follower's statement of one month."""

    schema_: Literal["statement-request.v1"] = "statement-request.v1"
    follower_id: str
    month: str
    resend: bool = False
    requested_by: str = "system"


Message = SignalMessage | CommandMessage | AlertMessage | StatementRequest
M = TypeVar("M", bound=BaseModel)


def encode(message: Message) -> tuple[bytes, dict[str, str]]:
    """Bytes and attributes to publish."""
    doc = message.model_dump(mode="json", by_alias=True)
    doc["schema"] = doc.pop("schema_")
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode(), {"schema": doc["schema"]}


def decode(data: bytes, model: type[M], *, where: str = "message") -> M:
    """Parse one message body into ``model``; anything malformed is ``Rejected`` with the reason."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Rejected(f"not UTF-8 JSON ({exc})", where=where) from exc
    if not isinstance(doc, dict):
        raise Rejected(f"expected a JSON object, got {type(doc).__name__}", where=where)
    expected = model.model_fields["schema_"].default
    schema = doc.pop("schema", None)
    if schema != expected:
        raise Rejected(f"schema is {schema!r}, expected {expected!r}", where=where)
    try:
        return model.model_validate({**doc, "schema_": schema})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
        )
        raise Rejected(problems, where=where) from exc


def decode_push(envelope: object, model: type[M]) -> M:
    """Decode the ``message.data`` of a Pub/Sub push body (or a CloudEvent's data) into ``model``."""
    if not isinstance(envelope, dict) or not isinstance(envelope.get("message"), dict):
        raise Rejected("not a Pub/Sub push envelope (no 'message' object)", where="push")
    message = envelope["message"]
    where = f"pubsub message {message.get('messageId') or message.get('message_id') or '?'}"
    try:
        data = base64.b64decode(message.get("data") or "", validate=True)
    except (binascii.Error, TypeError, ValueError) as exc:
        raise Rejected(f"data is not base64 ({exc})", where=where) from exc
    return decode(data, model, where=where)
