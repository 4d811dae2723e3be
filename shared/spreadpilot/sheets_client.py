"""The Google Sheets client (gspread).

Seam: with ``SHEETS_API_URL`` set (local stack only) the client talks to the Sheets fake: a plain
``requests.Session`` rewrites ``https://sheets.googleapis.com`` to that URL and sends no credentials. Open sheets
with ``open_by_key`` (there is no Drive API behind the fake, so ``open(title)`` cannot work).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import gspread
import requests

from spreadpilot.errors import ConfigError

SHEETS_API_ENV = "SHEETS_API_URL"
GOOGLE_SHEETS_BASE = "https://sheets.googleapis.com"
READ_ONLY_SCOPES = ("https://www.googleapis.com/auth/spreadsheets.readonly",)
READ_WRITE_SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)


class RewritingSession(requests.Session):
    """A session that sends every Sheets API request to ``base_url`` instead of Google."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        """Rewrite the Google base URL, then send as usual."""
        if isinstance(url, str) and url.startswith(GOOGLE_SHEETS_BASE):
            url = self.base_url + url[len(GOOGLE_SHEETS_BASE) :]
        return super().request(method, url, *args, **kwargs)


def sheets_client(service_account_info: Mapping[str, Any] | None = None, *, write: bool = False) -> gspread.Client:
    """A gspread client: the local fake when ``SHEETS_API_URL`` is set, else the service account's credentials.

    ``service_account_info`` is the service-account JSON (from Secret Manager); ``write`` asks for the read-write
    scope (the poller only reads).
    """
    local_url = os.environ.get(SHEETS_API_ENV)
    if local_url:
        return gspread.Client(auth=None, session=RewritingSession(local_url))  # type: ignore[arg-type]  # auth=None + session is gspread's documented way to bring a session
    if service_account_info is None:
        raise ConfigError("the Sheets service-account key is missing (secret 'sheets-service-account')")
    scopes = list(READ_WRITE_SCOPES if write else READ_ONLY_SCOPES)
    return gspread.service_account_from_dict(dict(service_account_info), scopes=scopes)
