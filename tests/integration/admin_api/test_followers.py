"""Followers through the served API: on an existing gateway and account, IBAN masked, no login of their own (logins
belong to gateways), every change validated and audited."""

from __future__ import annotations

import json

from admin_harness import IBAN, AdminClient, new_follower
from google.cloud import firestore

from spreadpilot.models import Gateway
from spreadpilot.store import Store
from stack.local_stack import LocalStack

PASSWORD = "Tr0ub4dor&3-horse-battery"


def _everything_in_firestore(db: firestore.Client) -> str:
    docs = [snap.to_dict() for coll in db.collections() for snap in coll.stream()]
    return json.dumps(docs, default=str)


def test_a_created_follower_shows_its_iban_masked_in_responses_and_logs_and_carries_no_login(
    admin: AdminClient, clean_stack: LocalStack, firestore_db: firestore.Client
) -> None:
    created = admin.call("POST", "/followers", new_follower("f01"))
    listed = admin.call("GET", "/followers")
    read = admin.call("GET", "/followers/f01")

    assert created.status_code == 201
    stored = firestore_db.collection("followers").document("f01").get().to_dict()
    assert stored["iban"] == IBAN  # the system of record keeps the IBAN for statements
    assert stored["ibkr_secret_name"] is None  # logins belong to gateways
    for response in (created, listed, read):
        assert IBAN not in response.text
    assert read.json()["iban_masked"].endswith(IBAN[-4:])
    log = (clean_stack.state_dir / "logs" / "function-admin_api.log").read_text()
    assert "f01" in log  # the creation was logged...
    assert IBAN not in log  # ...without the IBAN


def test_a_follower_with_a_login_of_its_own_is_refused_because_logins_belong_to_gateways(
    admin: AdminClient, firestore_db: firestore.Client
) -> None:
    response = admin.call("POST", "/followers", new_follower("f01", ibkr_username="anna", ibkr_password=PASSWORD))
    assert response.status_code == 400
    assert {p["where"] for p in response.json()["error"]["problems"]} == {"body.ibkr_username", "body.ibkr_password"}
    assert PASSWORD not in response.text
    assert PASSWORD not in _everything_in_firestore(firestore_db)


def test_a_follower_on_an_unknown_gateway_is_refused_naming_the_existing_ones(admin: AdminClient) -> None:
    response = admin.call("POST", "/followers", new_follower("f01", gateway_id="gw-typo"))
    moved = admin.call("POST", "/followers", new_follower("f02"))
    edit = admin.call("PATCH", "/followers/f02", {"gateway_id": "gw-typo"})

    assert response.status_code == 400
    assert response.json()["error"]["where"] == "body.gateway_id"
    assert "unknown gateway 'gw-typo'; existing gateways: gw1" in response.json()["error"]["message"]
    assert admin.call("GET", "/followers/f01").status_code == 404
    assert moved.status_code == 201
    assert edit.status_code == 400
    assert admin.call("GET", "/followers/f02").json()["gateway_id"] == "gw1"


def test_a_follower_on_an_account_its_gateway_does_not_serve_is_refused(
    admin: AdminClient, firestore_db: firestore.Client
) -> None:
    Store(firestore_db).gateways.put(Gateway(id="gw-advisor", port=4003, client_id=1, accounts=("DU001", "DU002")))
    refused = admin.call("POST", "/followers", new_follower("f01", gateway_id="gw-advisor", ibkr_account="DU777"))
    accepted = admin.call("POST", "/followers", new_follower("f02", gateway_id="gw-advisor", ibkr_account="DU002"))

    assert refused.status_code == 400
    assert refused.json()["error"]["where"] == "body.ibkr_account"
    assert "serves DU001, DU002" in refused.json()["error"]["message"]
    assert accepted.status_code == 201


def test_invalid_follower_is_refused_with_each_problem_and_its_field(admin: AdminClient) -> None:
    body = new_follower("f02", iban="DE00370400440532013000", email="not-an-email", max_contracts=-1)
    response = admin.call("POST", "/followers", body)
    assert response.status_code == 400
    problems = {p["where"]: p["message"] for p in response.json()["error"]["problems"]}
    assert set(problems) == {"body.iban", "body.email", "body.max_contracts"}
    assert "check digits" in problems["body.iban"]
    assert admin.call("GET", "/followers/f02").status_code == 404


def test_unknown_fields_and_malformed_json_are_refused(admin: AdminClient) -> None:
    unknown = admin.call("POST", "/followers", new_follower("f03", colour="blue"))
    assert unknown.status_code == 400
    assert unknown.json()["error"]["problems"][0]["where"] == "body.colour"
    malformed = admin.call("POST", "/followers", headers={"Content-Type": "application/json"}, json=None)
    assert malformed.status_code == 400


def test_creating_an_existing_follower_is_a_conflict(admin: AdminClient) -> None:
    assert admin.call("POST", "/followers", new_follower("f01")).status_code == 201
    again = admin.call("POST", "/followers", new_follower("f01", name="Someone Else"))
    assert again.status_code == 409
    assert admin.call("GET", "/followers/f01").json()["name"] == "Anna Rossi"


def test_edit_changes_only_given_fields_revalidates_and_is_audited(
    admin: AdminClient, firestore_db: firestore.Client
) -> None:
    admin.call("POST", "/followers", new_follower("f01"))
    edited = admin.call("PATCH", "/followers/f01", {"max_contracts": 7, "commission_pct": "25",
                                                     "ibkr_account": "DU777"})
    bad = admin.call("PATCH", "/followers/f01", {"multiplier": "0"})

    assert edited.status_code == 200
    follower = admin.call("GET", "/followers/f01").json()
    assert (follower["max_contracts"], follower["commission_pct"], follower["ibkr_account"]) == (7, "25", "DU777")
    assert follower["multiplier"] == "1.5"
    assert bad.status_code == 400
    assert bad.json()["error"]["problems"][0]["where"] == "body.multiplier"
    audit = [snap.to_dict() for snap in firestore_db.collection("audit").stream()]
    update = next(a for a in audit if a["action"] == "follower.update")
    assert update["actor"] == "admin@spreadpilot.local"
    assert update["fields"] == ["commission_pct", "ibkr_account", "max_contracts"]


def test_disable_and_enable_flip_the_flag_and_are_audited(
    admin: AdminClient, firestore_db: firestore.Client
) -> None:
    admin.call("POST", "/followers", new_follower("f01"))
    disabled = admin.call("POST", "/followers/f01/disable").json()
    stored = firestore_db.collection("followers").document("f01").get().to_dict()
    enabled = admin.call("POST", "/followers/f01/enable").json()

    assert disabled["enabled"] is False
    assert stored["enabled"] is False
    assert enabled["enabled"] is True
    actions = sorted(snap.to_dict()["action"] for snap in firestore_db.collection("audit").stream())
    assert actions == ["follower.create", "follower.disable", "follower.enable"]
