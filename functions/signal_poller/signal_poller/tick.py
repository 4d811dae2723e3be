"""The Scheduler tick at the edge: only a trigger, so its payload is described (and logged), never trusted."""

from __future__ import annotations

import base64
import binascii

from pydantic import BaseModel, ConfigDict


class Tick(BaseModel):
    """One trigger: where it came from and, if its payload was odd, why (the tick still polls)."""

    model_config = ConfigDict(frozen=True)

    message_id: str = ""
    problem: str = ""


def parse_tick(data: object) -> Tick:
    """A Pub/Sub push body / CloudEvent data (``{"message": {...}}``) or an HTTP JSON body as a ``Tick``."""
    if data is None or data == {} or data == b"":
        return Tick()
    if not isinstance(data, dict):
        return Tick(problem=f"payload is {type(data).__name__}, not a JSON object")
    message = data.get("message")
    if message is None:
        return Tick()  # an HTTP call with its own (ignored) body
    if not isinstance(message, dict):
        return Tick(problem="'message' is not an object")
    raw_id = message.get("messageId") or message.get("message_id") or ""
    message_id = str(raw_id)[:100] if isinstance(raw_id, str | int) else ""
    encoded = message.get("data")
    if encoded in (None, ""):
        return Tick(message_id=message_id)
    try:
        base64.b64decode(str(encoded), validate=True)
    except (binascii.Error, ValueError) as exc:
        return Tick(message_id=message_id, problem=f"message data is not base64 ({exc})")
    return Tick(message_id=message_id)
