"""Structured JSON logs for Cloud Logging: ``severity``, ``message``, component and context fields.

Pass context with ``extra={"follower_id": ..., "signal_id": ..., "order_ref": ...}``; never a secret or a full IBAN.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, in the shape Cloud Logging parses."""

    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "severity": "CRITICAL" if record.levelno >= logging.CRITICAL else record.levelname,
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "component": self.component,
            "logger": record.name,
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["stack_trace"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(component: str, level: str = "INFO") -> None:
    """Send every log record to stderr as JSON (call once, in the entry point)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(component))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("urllib3", "google", "grpc", "ib_async", "ib_insync", "werkzeug"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
