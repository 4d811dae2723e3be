"""Typed clients of the fakes' control APIs, for tests and the demo."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

Rows = list[list[Any]]


class _Control:
    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout_s
        self._session = requests.Session()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._session.request(method, f"{self.base_url}/_control/{path}", timeout=self._timeout, **kwargs)
        response.raise_for_status()
        return response.json()

    def healthy(self) -> bool:
        """Whether the fake answers its health check."""
        try:
            return bool(self._call("GET", "health").get("ok"))
        except requests.RequestException:
            return False


class SheetsControl(_Control):
    """Control of the Sheets fake: create spreadsheets, read raw cells, inject 429s, read the request log."""

    def create_spreadsheet(
        self, tabs: dict[str, Rows] | None = None, title: str = "Signals", spreadsheet_id: str | None = None
    ) -> str:
        """Create a spreadsheet with ``tabs`` (title → rows); returns its id (the key for ``open_by_key``)."""
        body: dict[str, Any] = {"title": title, "tabs": tabs or {"Sheet1": []}}
        if spreadsheet_id:
            body["id"] = spreadsheet_id
        return str(self._call("POST", "spreadsheets", json=body)["id"])

    def tab_values(self, spreadsheet_id: str, tab: str) -> Rows:
        """The raw cells of one tab, as stored (USER_ENTERED numbers are numbers)."""
        values: Rows = self._call("GET", f"spreadsheets/{quote(spreadsheet_id, safe='')}/tabs/{quote(tab, safe='')}")[
            "values"
        ]
        return values

    def set_tab_values(self, spreadsheet_id: str, tab: str, rows: Rows) -> None:
        """Replace a tab's content (creating the tab if needed), without going through the API's quota."""
        self._call(
            "PUT", f"spreadsheets/{quote(spreadsheet_id, safe='')}/tabs/{quote(tab, safe='')}", json={"values": rows}
        )

    def fail_next(self, count: int, status: int = 429) -> None:
        """Make the next ``count`` API calls answer ``status`` (429 = quota exceeded)."""
        self._call("POST", "faults", json={"status": status, "count": count})

    def set_read_quota(self, reads_per_minute: int | None) -> None:
        """Answer 429 to reads above ``reads_per_minute`` (sliding minute); ``None`` lifts the quota."""
        self._call("PUT", "quota", json={"reads_per_minute": reads_per_minute})

    def requests(self) -> list[dict[str, Any]]:
        """Every API request served so far: ``{method, path, status, at}``."""
        found: list[dict[str, Any]] = self._call("GET", "requests")["requests"]
        return found

    def reset(self) -> None:
        """Forget every spreadsheet, fault, quota and logged request."""
        self._call("POST", "reset")


class SinkControl(_Control):
    """Control of the SendGrid/Telegram sink: read what it received, clear it, inject failures."""

    def received(
        self, kind: str | None = None, method: str | None = None, include_failed: bool = False
    ) -> list[dict[str, Any]]:
        """Calls received (``kind`` email|telegram, ``method`` e.g. sendMessage); failed ones only if asked."""
        params = {key: value for key, value in (("kind", kind), ("method", method)) if value}
        if include_failed:
            params["all"] = "1"
        found: list[dict[str, Any]] = self._call("GET", "received", params=params)["received"]
        return found

    def emails(self) -> list[dict[str, Any]]:
        """SendGrid mails delivered (each has ``payload`` and a ``summary`` with from/to/subject/attachments)."""
        return self.received(kind="email")

    def telegram_messages(self) -> list[dict[str, Any]]:
        """Telegram ``sendMessage``/``sendDocument`` calls delivered."""
        return [m for m in self.received(kind="telegram") if m["method"] in ("sendMessage", "sendDocument")]

    def clear(self) -> None:
        """Forget everything received and every queued failure."""
        self._call("DELETE", "received")

    def fail_next(
        self,
        kind: str,
        count: int = 1,
        status: int = 500,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``kind`` fail with ``status`` (429 + ``retry_after`` for Telegram)."""
        body: dict[str, Any] = {"kind": kind, "count": count, "status": status}
        if retry_after is not None:
            body["retry_after"] = retry_after
        if description is not None:
            body["description"] = description
        self._call("POST", "faults", json=body)
