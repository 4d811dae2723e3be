"""An HTTP sink that answers like SendGrid and the Telegram Bot API and keeps everything it received.

API:
  POST /v3/mail/send                         SendGrid v3 mail: 202, ``X-Message-Id`` header, empty body
  POST|GET /bot<token>/<method>              Telegram Bot API: getMe, sendMessage, sendDocument, sendPhoto,
                                             editMessageText, setWebhook, deleteWebhook, getWebhookInfo, …
                                             (JSON, form-encoded and multipart bodies); other methods → ``true``

Control API (tests and the demo; see ``fakes.control.SinkControl``):
  GET    /_control/health
  GET    /_control/received?kind=email|telegram&method=sendMessage&all=1
         {"received": [{"id", "kind", "method", "token", "at", "status", "payload", "files", "summary"}]}
         (``all=1`` also lists calls answered with an injected failure)
  DELETE /_control/received                  forget everything received and every queued failure
  POST   /_control/faults  {"kind": "telegram"|"email", "status": 429, "count": N, "retry_after": 1,
                            "description"?}: the next N calls of that kind fail so
  DELETE /_control/faults

Run: ``python -m fakes.sink --host 127.0.0.1 --port P``.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from typing import Any

from fakes._http import JsonHandler, serve_forever
from fakes.sink_parsing import email_summary, parse_body

BOT_ID = 7000000001
BOT_USERNAME = "spreadpilot_local_bot"
_SENT_METHODS = {"sendMessage", "sendDocument", "sendPhoto", "forwardMessage", "copyMessage"}
_MESSAGE_METHODS = {"sendMessage", "sendDocument", "sendPhoto", "editMessageText", "forwardMessage", "copyMessage"}


@dataclass(frozen=True)
class Fault:
    """One queued failure."""

    status: int
    retry_after: int | None = None
    description: str | None = None


class SinkState:
    """What was received and which failures are queued (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[dict[str, Any]] = []
        self.faults: dict[str, deque[Fault]] = {"email": deque(), "telegram": deque()}
        self.ids = itertools.count(1)
        self.webhook: dict[str, Any] = {}

    def next_fault(self, kind: str) -> Fault | None:
        """Pop the next queued failure for ``kind``."""
        with self.lock:
            queue = self.faults[kind]
            return queue.popleft() if queue else None

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Store a received call; returns it with its id."""
        with self.lock:
            entry["id"] = next(self.ids)
            self.received.append(entry)
            return entry

    def sent_message(self, chat_id: object, message_id: object) -> bool:
        """Whether a message with this id was delivered to this chat (Telegram edits only those)."""
        with self.lock:
            return any(e["kind"] == "telegram" and e["status"] == 200 and e["method"] in _SENT_METHODS
                       and str(e["id"]) == str(message_id) and str(e["summary"]["chat_id"]) == str(chat_id)
                       for e in self.received)

    def clear(self) -> None:
        """Forget everything."""
        with self.lock:
            self.received.clear()
            for queue in self.faults.values():
                queue.clear()
            self.webhook = {}


def _chat(chat_id: Any) -> dict[str, Any]:
    try:
        numeric = int(chat_id)
    except (TypeError, ValueError):
        return {"id": -1001000000000, "type": "channel", "title": str(chat_id), "username": str(chat_id).lstrip("@")}
    return {"id": numeric, "type": "private" if numeric > 0 else "group", "first_name": "Operator", "title": "Ops"}


class SinkHandler(JsonHandler):
    """Routes SendGrid, the Telegram Bot API and the control API."""

    state: SinkState

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        path = self.path_only
        if path.startswith("/_control/"):
            self._control(method, path.removeprefix("/_control/"))
        elif path == "/v3/mail/send" and method == "POST":
            self._sendgrid()
        elif path.startswith("/bot") and "/" in path[4:]:
            token, _, api_method = path[4:].partition("/")
            self._telegram(token, api_method)
        else:
            self.send_json(404, {"error": f"the sink does not answer {method} {path}"})

    def _sendgrid(self) -> None:
        fields, files = parse_body(self.headers.get("Content-Type", ""), self.read_body())
        entry: dict[str, Any] = {
            "kind": "email",
            "method": "mail/send",
            "token": self.headers.get("Authorization", "").removeprefix("Bearer ")[:6] + "…",
            "at": time.time(),
            "payload": fields,
            "files": files,
            "summary": email_summary(fields),
        }
        fault = self.state.next_fault("email")
        if fault is not None:
            self.state.record(entry | {"status": fault.status})
            message = fault.description or "Injected failure."
            self.send_json(fault.status, {"errors": [{"message": message, "field": None, "help": None}]})
            return
        missing = [name for name in ("personalizations", "from") if not fields.get(name)]
        if missing:
            self.state.record(entry | {"status": 400})
            self.send_json(400, {"errors": [{"message": f"missing {name}", "field": name} for name in missing]})
            return
        self.state.record(entry | {"status": 202})
        self.send_empty(202, {"X-Message-Id": uuid.uuid4().hex[:22]})

    def _telegram(self, token: str, api_method: str) -> None:
        fields, files = parse_body(self.headers.get("Content-Type", ""), self.read_body())
        fields.update({key: values[0] for key, values in self.query.items() if key not in fields})
        entry: dict[str, Any] = {
            "kind": "telegram",
            "method": api_method,
            "token": token,
            "at": time.time(),
            "payload": fields,
            "files": files,
            "summary": {
                "chat_id": fields.get("chat_id"),
                "text": fields.get("text") or fields.get("caption"),
                "document": files[0]["filename"] if files else None,
            },
        }
        if api_method == "editMessageText" and not self.state.sent_message(fields.get("chat_id"),
                                                                           fields.get("message_id")):
            self.state.record(entry | {"status": 400})  # as Telegram answers an edit of a message it never sent
            self.send_json(400, {"ok": False, "error_code": 400,
                                 "description": "Bad Request: message to edit not found"})
            return
        fault = self.state.next_fault("telegram")
        if fault is not None:
            self.state.record(entry | {"status": fault.status})
            body: dict[str, Any] = {"ok": False, "error_code": fault.status}
            if fault.status == 429:
                retry_after = fault.retry_after if fault.retry_after is not None else 1
                body["description"] = fault.description or f"Too Many Requests: retry after {retry_after}"
                body["parameters"] = {"retry_after": retry_after}
            else:
                body["description"] = fault.description or "Internal Server Error"
            self.send_json(fault.status, body)
            return
        record = self.state.record(entry | {"status": 200})
        self.send_json(200, {"ok": True, "result": self._telegram_result(api_method, fields, files, record["id"])})

    def _telegram_result(
        self, api_method: str, fields: dict[str, Any], files: list[dict[str, Any]], message_id: int
    ) -> Any:
        if api_method == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "SpreadPilot",
                "username": BOT_USERNAME,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if api_method == "setWebhook":
            with self.state.lock:
                self.state.webhook = {"url": fields.get("url", ""), "secret_token": fields.get("secret_token")}
            return True
        if api_method == "deleteWebhook":
            with self.state.lock:
                self.state.webhook = {}
            return True
        if api_method == "getWebhookInfo":
            with self.state.lock:
                url = self.state.webhook.get("url", "")
            return {"url": url, "has_custom_certificate": False, "pending_update_count": 0}
        if api_method in _MESSAGE_METHODS:
            message: dict[str, Any] = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": _chat(fields.get("chat_id")),
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "SpreadPilot", "username": BOT_USERNAME},
            }
            if "text" in fields:
                message["text"] = fields["text"]
            if "caption" in fields:
                message["caption"] = fields["caption"]
            if files:
                message["document"] = {
                    "file_id": f"doc-{message_id}",
                    "file_unique_id": f"u{message_id}",
                    "file_name": files[0]["filename"],
                    "mime_type": files[0]["content_type"],
                    "file_size": files[0]["size"],
                }
            return message
        return True

    def _control(self, method: str, route: str) -> None:
        state = self.state
        if route == "health":
            self.send_json(200, {"ok": True})
        elif route == "received" and method == "GET":
            query = {key: values[0] for key, values in self.query.items()}
            with state.lock:
                found = [
                    entry
                    for entry in state.received
                    if (query.get("all") == "1" or 200 <= entry["status"] < 300)
                    and entry["kind"] == query.get("kind", entry["kind"])
                    and entry["method"] == query.get("method", entry["method"])
                ]
            self.send_json(200, {"received": found})
        elif route == "received" and method == "DELETE":
            state.clear()
            self.send_json(200, {"ok": True})
        elif route == "faults" and method == "POST":
            body = self.read_json()
            kind = body.get("kind", "telegram")
            if kind not in state.faults:
                self.send_json(400, {"error": f"kind must be one of {sorted(state.faults)}"})
                return
            fault = Fault(int(body.get("status", 500)), body.get("retry_after"), body.get("description"))
            with state.lock:
                state.faults[kind].extend([fault] * int(body.get("count", 1)))
            self.send_json(200, {"queued": len(state.faults[kind])})
        elif route == "faults" and method == "DELETE":
            with state.lock:
                for queue in state.faults.values():
                    queue.clear()
            self.send_json(200, {"ok": True})
        else:
            self.send_json(404, {"error": f"unknown control call {method} /_control/{route}"})


def make_server(host: str, port: int) -> ThreadingHTTPServer:
    """The sink bound to ``host:port`` with a fresh state (not yet serving)."""
    handler = type("BoundSinkHandler", (SinkHandler,), {"state": SinkState()})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


if __name__ == "__main__":
    serve_forever("sink", make_server)
