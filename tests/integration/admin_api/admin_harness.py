"""Helpers for admin API tests: a client that calls the served API as the web app does, and request bodies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

IBAN = "DE89370400440532013000"


@dataclass
class AdminClient:
    """Calls the served API the way the web app does."""

    base_url: str
    origin: str
    token: str | None = None

    def call(self, method: str, path: str, json: Any = None, token: str | None = None,
             headers: dict[str, str] | None = None) -> requests.Response:
        sent = {"Origin": self.origin, **(headers or {})}
        bearer = token if token is not None else self.token
        if bearer:
            sent["Authorization"] = f"Bearer {bearer}"
        return requests.request(method, f"{self.base_url}/api/v1{path}", json=json, headers=sent, timeout=30)



def new_follower(follower_id: str = "f01", **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "id": follower_id, "name": "Anna Rossi", "email": "anna@example.com", "iban": IBAN,
        "commission_pct": "20", "gateway_id": "gw1", "ibkr_account": "DU001", "multiplier": "1.5",
        "max_contracts": 4, "daily_loss_limit": "1500",
    }
    body.update(changes)
    return body
