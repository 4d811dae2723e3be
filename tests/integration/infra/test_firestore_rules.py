"""terraform/firestore.rules in the Firestore emulator's rules engine, asked the way the web app's Firebase SDK asks:
REST reads and writes with an operator's ID token (the local issuer mints Firebase-shaped tokens)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests
from google.cloud import firestore

from identity.keys import SigningKey
from identity.tokens import mint_id_token
from spreadpilot.models import Follower, IntentState, OrderIntent, Spread, Strategy
from spreadpilot.store import Store
from stack.local_stack import FIRESTORE_EMULATOR_HOST, LocalStack

KEY = SigningKey.generate(datetime.now(UTC))
IBAN = "DE89370400440532013000"
READABLE = ["follower_cards/f01", "orders/entry-s1-f01", "signals/s1", "fills/e1", "positions/f01:s1",
            "pnl_snapshots/f01:1", "daily_pnl/f01:2026-03-17", "alerts/a1", "events/ev1", "controls/global",
            "operator_actions/flatten-ABC123", "heartbeats/executor"]
PRIVATE = ["followers/f01", "gateways/gw1", "invoices/f01:2026-02", "statements/f01:2026-02", "commands/c1",
           "pending_confirmations/ABC123", "claims/k1", "audit/x1", "monthly_pnl/f01:2026-02", "leases/gw1",
           "followers/f01/private/x"]


def token(role: object) -> str:
    return mint_id_token(KEY, project="spreadpilot-local", uid=f"u-{role}", email="ops@example.com",
                         role=role, issued_at=datetime.now(UTC))  # type: ignore[arg-type]


class Browser:
    """The emulator's REST API with a user's token (what the JS SDK sends), never the admin's ``owner``."""

    def __init__(self, stack: LocalStack, bearer: str | None) -> None:
        self.base = (f"http://{stack.env[FIRESTORE_EMULATOR_HOST]}/v1/projects/{stack.project}"
                     "/databases/(default)/documents")
        self.bearer = bearer

    def _send(self, method: str, path: str, body: object = None) -> tuple[int, dict[str, object]]:
        headers = {"Content-Type": "application/json"}
        if self.bearer:
            headers["Authorization"] = f"Bearer {self.bearer}"
        url = self.base + (path if path.startswith(":") else f"/{path}")
        response = requests.request(method, url, json=body, headers=headers, timeout=10)
        return response.status_code, response.json() if response.content else {}

    def get(self, path: str) -> tuple[int, dict[str, object]]:
        return self._send("GET", path)

    def query(self, collection: str) -> int:
        return self._send("POST", ":runQuery", {"structuredQuery": {"from": [{"collectionId": collection}]}})[0]

    def write(self, path: str) -> int:
        return self._send("PATCH", path, {"fields": {"note": {"stringValue": "from a browser"}}})[0]


@pytest.fixture
def seeded(clean_stack: LocalStack, firestore_db: firestore.Client) -> LocalStack:
    now = datetime.now(UTC)
    store = Store(firestore_db)
    store.followers.put(Follower(id="f01", name="Anna", email="anna@example.com", iban=IBAN, commission_pct=20,
                                 gateway_id="gw1", ibkr_account="DU001", ibkr_secret_name="ibkr-f01"))
    spread = Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485), long_strike=Decimal(480))
    store.orders.put(OrderIntent(intent_id="entry-s1-f01", signal_id="s1", follower_id="f01", gateway_id="gw1",
                                 account="DU001", spread=spread, expiry=now.date(), contracts=1,
                                 state=IntentState.FILLED, created_at=now, updated_at=now))
    written_above = {"follower_cards/f01", "orders/entry-s1-f01", "followers/f01"}
    for path in {*READABLE, *PRIVATE} - written_above:
        firestore_db.document(path).set({"seeded": True})
    return clean_stack


def test_a_viewer_reads_an_intent_and_the_follower_card_but_no_secret_name_no_iban_and_no_other_collection(
    seeded: LocalStack,
) -> None:
    viewer = Browser(seeded, token("viewer"))
    status, intent = viewer.get("orders/entry-s1-f01")
    assert status == 200
    assert intent["fields"]["state"] == {"stringValue": "filled"}  # type: ignore[index]
    status, card = viewer.get("follower_cards/f01")
    assert status == 200
    fields = card["fields"]
    assert fields["iban_masked"] == {"stringValue": "•" * 18 + "3000"}  # type: ignore[index]
    assert {"iban", "ibkr_secret_name"}.isdisjoint(fields)  # type: ignore[arg-type]
    assert IBAN not in json.dumps(card)
    assert "ibkr-f01" not in json.dumps(card)
    assert [p for p in READABLE if viewer.get(p)[0] != 200] == []
    assert {p: viewer.get(p)[0] for p in PRIVATE} == dict.fromkeys(PRIVATE, 403)
    assert viewer.query("follower_cards") == 200
    assert viewer.query("followers") == 403


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_nobody_writes_from_a_browser_not_even_an_admin(seeded: LocalStack, role: str) -> None:
    browser = Browser(seeded, token(role))
    paths = [*READABLE, *PRIVATE, "events/new-one", "orders/entry-s1-f02"]
    assert {p: browser.write(p) for p in paths} == dict.fromkeys(paths, 403)


@pytest.mark.parametrize("bearer", [None, token(None), token("operator"), token(["admin"]), token(7)])
def test_without_an_operator_role_nothing_is_readable(seeded: LocalStack, bearer: str | None) -> None:
    browser = Browser(seeded, bearer)
    assert {p: browser.get(p)[0] for p in READABLE} == dict.fromkeys(READABLE, 403)
