"""An HTTP fake of the Google Sheets v4 API that real ``gspread`` reads and writes.

API (what gspread calls; ranges in A1 notation, URL-encoded):
  GET  /v4/spreadsheets/{id}                         metadata (title, tabs, grid sizes)
  POST /v4/spreadsheets/{id}:batchUpdate             only ``addSheet`` requests
  GET  /v4/spreadsheets/{id}/values/{range}          valueRenderOption, majorDimension
  GET  /v4/spreadsheets/{id}/values:batchGet         ranges=…&ranges=…
  PUT  /v4/spreadsheets/{id}/values/{range}          update; valueInputOption RAW | USER_ENTERED
  POST /v4/spreadsheets/{id}/values/{range}:append   append below the last non-empty row
  POST /v4/spreadsheets/{id}/values/{range}:clear
  POST /v4/spreadsheets/{id}/values:batchUpdate | values:batchClear

Control API (tests and the demo; see ``fakes.control.SheetsControl``):
  GET    /_control/health
  POST   /_control/spreadsheets            {"id"?, "title"?, "tabs": {"Sheet1": [[...], ...]}} → 201 {"id"}
  GET    /_control/spreadsheets/{id}       {"id", "title", "tabs": {title: raw rows}}
  GET    /_control/spreadsheets/{id}/tabs/{tab}   {"values": raw rows}
  PUT    /_control/spreadsheets/{id}/tabs/{tab}   {"values": rows} replaces the tab (created if missing)
  POST   /_control/faults                  {"status": 429, "count": N}: the next N API calls fail with it
  PUT    /_control/quota                   {"reads_per_minute": 60 | null}: 429 on reads above the rate
  GET    /_control/requests                {"requests": [{"method", "path", "status", "at"}]}
  POST   /_control/reset                   forget spreadsheets, faults, quota and the request log

Run: ``python -m fakes.sheets --host 127.0.0.1 --port P``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from fakes._http import JsonHandler, serve_forever
from fakes.sheets_store import Cell, SheetsError, SheetsStore

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_QUOTA_MESSAGE = (
    "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' "
    "of service 'sheets.googleapis.com'."
)


class SheetsFakeState:
    """Spreadsheets plus the test knobs: queued faults, a read quota, and the log of API requests."""

    def __init__(self) -> None:
        self.store = SheetsStore()
        self.lock = threading.Lock()
        self.faults: deque[int] = deque()
        self.reads_per_minute: int | None = None
        self.read_times: deque[float] = deque()
        self.requests: list[dict[str, Any]] = []

    def reset(self) -> None:
        """Back to an empty fake."""
        with self.lock:
            self.store.spreadsheets.clear()
            self.faults.clear()
            self.reads_per_minute = None
            self.read_times.clear()
            self.requests.clear()

    def admit(self, method: str) -> int | None:
        """A status to fail this API call with (queued fault or read quota), or ``None`` to serve it."""
        with self.lock:
            if self.faults:
                return self.faults.popleft()
            if method == "GET" and self.reads_per_minute is not None:
                now = time.monotonic()
                while self.read_times and now - self.read_times[0] > 60:
                    self.read_times.popleft()
                if len(self.read_times) >= self.reads_per_minute:
                    return 429
                self.read_times.append(now)
            return None


def _error_body(status: int, message: str, reason: str | None = None) -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "status": reason or _STATUS_NAMES.get(status, "UNKNOWN")}}


class SheetsHandler(JsonHandler):
    """Routes the Sheets API and the control API."""

    state: SheetsFakeState

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        path = self.path_only
        if path.startswith("/_control/"):
            self._control(method, path.removeprefix("/_control/").split("/"))
            return
        if not path.startswith("/v4/spreadsheets/"):
            self.send_json(404, _error_body(404, f"Unknown path {path}"))
            return
        body = self.read_body()
        status = self.state.admit(method)
        if status is not None:
            message = _QUOTA_MESSAGE if status == 429 else "Injected failure."
            self._log(method, path, status)
            self.send_json(status, _error_body(status, message))
            return
        try:
            with self.state.store.lock:
                payload = self._api(method, path.removeprefix("/v4/spreadsheets/"), body)
        except SheetsError as error:
            self._log(method, path, error.status)
            self.send_json(error.status, _error_body(error.status, str(error), error.reason))
            return
        except (ValueError, KeyError, TypeError) as bad:
            self._log(method, path, 400)
            self.send_json(400, _error_body(400, f"Invalid request: {bad!r}"))
            return
        self._log(method, path, 200)
        self.send_json(200, payload)

    def _log(self, method: str, path: str, status: int) -> None:
        with self.state.lock:
            self.state.requests.append({"method": method, "path": unquote(path), "status": status, "at": time.time()})

    def _api(self, method: str, rest: str, raw: bytes) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(raw) if raw else {}
        query = self.query
        first = {key: values[0] for key, values in query.items()}
        head, sep, tail = rest.partition("/values")
        if not sep:
            sheet_id, _, action = head.partition(":")
            sheet = self.state.store.get(unquote(sheet_id))
            if method == "GET" and not action:
                return sheet.metadata()
            if method == "POST" and action == "batchUpdate":
                return sheet.batch_update(body.get("requests", []))
            raise SheetsError(400, f"Unsupported {method} {rest}", "INVALID_ARGUMENT")
        sheet = self.state.store.get(unquote(head))
        render = first.get("valueRenderOption", "FORMATTED_VALUE")
        major = first.get("majorDimension", "ROWS")
        input_option = first.get("valueInputOption", "RAW")
        if tail.startswith(":"):
            action = tail[1:]
            if method == "GET" and action == "batchGet":
                ranges = query.get("ranges", [])
                return {
                    "spreadsheetId": sheet.spreadsheet_id,
                    "valueRanges": [sheet.get_values(r, render, major) for r in ranges],
                }
            if method == "POST" and action == "batchUpdate":
                option = body.get("valueInputOption", "RAW")
                responses = [
                    sheet.update_values(d["range"], _rows(d.get("values")), option) for d in body.get("data", [])
                ]
                return {
                    "spreadsheetId": sheet.spreadsheet_id,
                    "totalUpdatedRows": sum(r["updatedRows"] for r in responses),
                    "totalUpdatedCells": sum(r["updatedCells"] for r in responses),
                    "responses": responses,
                }
            if method == "POST" and action == "batchClear":
                cleared = [sheet.clear_values(r)["clearedRange"] for r in body.get("ranges", [])]
                return {"spreadsheetId": sheet.spreadsheet_id, "clearedRanges": cleared}
            raise SheetsError(400, f"Unsupported {method} values:{action}", "INVALID_ARGUMENT")
        encoded = tail.removeprefix("/")
        encoded, _, action = encoded.rpartition(":") if encoded.endswith((":append", ":clear")) else (encoded, "", "")
        range_text = unquote(encoded)
        if method == "GET" and not action:
            return sheet.get_values(range_text, render, major)
        if method == "PUT" and not action:
            return sheet.update_values(range_text, _rows(body.get("values")), input_option)
        if method == "POST" and action == "append":
            return sheet.append_values(range_text, _rows(body.get("values")), input_option)
        if method == "POST" and action == "clear":
            return sheet.clear_values(range_text)
        raise SheetsError(400, f"Unsupported {method} values/{range_text}:{action}", "INVALID_ARGUMENT")

    def _control(self, method: str, parts: list[str]) -> None:
        state = self.state
        store = state.store
        body = self.read_json() if method in ("POST", "PUT") else {}
        try:
            if parts == ["health"]:
                self.send_json(200, {"ok": True})
            elif parts == ["reset"] and method == "POST":
                state.reset()
                self.send_json(200, {"ok": True})
            elif parts == ["faults"] and method == "POST":
                with state.lock:
                    state.faults.extend([int(body.get("status", 429))] * int(body.get("count", 1)))
                self.send_json(200, {"queued": len(state.faults)})
            elif parts == ["quota"] and method == "PUT":
                with state.lock:
                    state.reads_per_minute = body.get("reads_per_minute")
                    state.read_times.clear()
                self.send_json(200, {"reads_per_minute": state.reads_per_minute})
            elif parts == ["requests"] and method == "GET":
                with state.lock:
                    self.send_json(200, {"requests": list(state.requests)})
            elif parts == ["spreadsheets"] and method == "POST":
                tabs = body.get("tabs") or {"Sheet1": []}
                if isinstance(tabs, list):
                    tabs = {name: [] for name in tabs}
                sheet = store.create(body.get("title", "Untitled spreadsheet"), tabs, body.get("id"))
                self.send_json(201, {"id": sheet.spreadsheet_id})
            elif len(parts) == 2 and parts[0] == "spreadsheets" and method == "GET":
                with store.lock:
                    sheet = store.get(unquote(parts[1]))
                    self.send_json(
                        200,
                        {
                            "id": sheet.spreadsheet_id,
                            "title": sheet.title,
                            "tabs": {t.title: t.rows for t in sheet.tabs},
                        },
                    )
            elif len(parts) == 4 and parts[0] == "spreadsheets" and parts[2] == "tabs":
                with store.lock:
                    sheet = store.get(unquote(parts[1]))
                    title = unquote(parts[3])
                    if method == "PUT":
                        if not any(t.title == title for t in sheet.tabs):
                            sheet.add_tab(title)
                        tab = sheet.tab(title)
                        tab.rows = []
                        tab.write(0, 0, _rows(body.get("values")))
                    self.send_json(200, {"values": sheet.tab(title).rows})
            else:
                self.send_json(404, {"error": f"unknown control call {method} /_control/{'/'.join(parts)}"})
        except SheetsError as error:
            self.send_json(error.status, _error_body(error.status, str(error), error.reason))


def _rows(values: Any) -> list[list[Cell]]:
    if values is None:
        return []
    if not isinstance(values, list) or not all(isinstance(row, list) for row in values):
        raise SheetsError(400, "values must be a list of rows", "INVALID_ARGUMENT")
    return values


def make_server(host: str, port: int) -> ThreadingHTTPServer:
    """The fake bound to ``host:port`` with a fresh state (not yet serving)."""
    handler = type("BoundSheetsHandler", (SheetsHandler,), {"state": SheetsFakeState()})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


if __name__ == "__main__":
    serve_forever("sheets", make_server)
