"""What went wrong, named by what the caller should do about it.

SpreadPilotError
├── Retryable    transient (network, quota, contention): let Pub/Sub redeliver / retry with backoff
├── Rejected     the input is wrong and will stay wrong: log, alert, ack (never retry, never trade)
└── ConfigError  a setting is missing or invalid: stop at start-up with the setting's name
"""

from __future__ import annotations


class SpreadPilotError(Exception):
    """Base of every error SpreadPilot raises on purpose."""


class Retryable(SpreadPilotError):
    """A transient failure: the same work may succeed if tried again later."""


class Rejected(SpreadPilotError):
    """Bad input: acknowledge it, alert if an operator must act, and never retry it."""

    def __init__(self, reason: str, *, where: str = "") -> None:
        self.reason = reason
        self.where = where
        super().__init__(f"{where}: {reason}" if where else reason)


class ConfigError(SpreadPilotError):
    """A missing or invalid setting; the process must not start."""
