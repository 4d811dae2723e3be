"""Operator commands by Pub/Sub streaming pull: the executor's subscriber contract with the ``command.v1`` envelope.

Handled (or a duplicate) → ack; malformed → alert and ack; anything else → nack, so Pub/Sub redelivers (handling is
idempotent by command id).
"""

from __future__ import annotations

from executor.subscriber import EnvelopeSubscriber
from spreadpilot.envelopes import CommandMessage, decode
from spreadpilot.models import Command


class CommandSubscriber(EnvelopeSubscriber[Command]):
    """The executor's ``commands`` subscription."""

    kind = "command"

    def decode_body(self, data: bytes, where: str) -> Command:
        """The command of a ``command.v1`` message."""
        return decode(data, CommandMessage, where=where).command

    def context(self, item: Command) -> dict[str, str]:
        """The command id."""
        return {"command_id": item.command_id}
