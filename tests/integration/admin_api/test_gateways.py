"""Gateways through the served API (as the admin API's own service account, whose Secret Manager grants the local
fake enforces): the login goes to gateway-login-<id> and nowhere else, a full VM is refused, followers lose their
gateway only with an alert, and a viewer changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from admin_harness import AdminClient, new_follower
from google.cloud import firestore

from spreadpilot.envelopes import AlertMessage, decode
from spreadpilot.models import GatewayVm
from spreadpilot.secrets import GatewayLogin, Secrets
from stack.local_stack import LocalStack
from stack.topology import TopicTap

PASSWORD = "Adv1sor-Pa55phrase"


def vm_reported(db: firestore.Client, name: str = "vm-a", capacity: int = 6) -> None:
    """What the VM's supervisor writes when it starts."""
    db.collection("gateway_vms").document(name).set(
        GatewayVm(name=name, capacity=capacity, memory_mb=8000, at=datetime.now(UTC)).to_doc())


def new_gateway(gateway_id: str = "adv", **changes: object) -> dict[str, object]:
    body: dict[str, object] = {"id": gateway_id, "kind": "advisor", "accounts": ["DU001", "DU002"], "mode": "paper",
                               "username": "advisor_api", "password": PASSWORD}
    body.update(changes)
    return body


def _everything_in_firestore(db: firestore.Client) -> str:
    return json.dumps([snap.to_dict() for coll in db.collections() for snap in coll.stream()], default=str)


def test_a_new_gateways_login_is_in_its_secret_only_and_the_document_names_it(
    admin: AdminClient, clean_stack: LocalStack, firestore_db: firestore.Client
) -> None:
    vm_reported(firestore_db)
    created = admin.call("POST", "/gateways", new_gateway())
    read = admin.call("GET", "/gateways/adv")
    listed = admin.call("GET", "/gateways")

    assert created.status_code == 201, created.text
    login = GatewayLogin.from_secret(Secrets(clean_stack.project).read("gateway-login-adv"))
    assert (login.username, login.password.get_secret_value()) == ("advisor_api", PASSWORD)
    doc = firestore_db.collection("gateways").document("adv").get().to_dict()
    assert (doc["secret_name"], doc["vm"], doc["kind"], doc["accounts"]) == (
        "gateway-login-adv", "vm-a", "advisor", ["DU001", "DU002"])
    assert doc["port"] == 4101
    assert read.json()["has_login"] is True
    assert read.json()["entry_gate"] == "wait"  # supervised, not reported yet: entries wait for it
    assert [g["id"] for g in listed.json()["gateways"]] == ["adv", "gw1"]
    assert listed.json()["vms"][0]["capacity"] == 6
    for response in (created, read, listed):
        assert PASSWORD not in response.text
        assert "advisor_api" not in response.text
    assert PASSWORD not in _everything_in_firestore(firestore_db)
    log = (clean_stack.state_dir / "logs" / "function-admin_api.log").read_text()
    assert "adv" in log
    assert PASSWORD not in log
    audit = [snap.to_dict() for snap in firestore_db.collection("audit").stream()]
    create = next(a for a in audit if a["action"] == "gateway.create")
    assert (create["actor"], create["gateway_id"], create["login"]) == ("admin@spreadpilot.local", "adv", True)


def test_each_gateway_on_a_vm_gets_its_own_ports(admin: AdminClient, firestore_db: firestore.Client) -> None:
    vm_reported(firestore_db)
    first = admin.call("POST", "/gateways", new_gateway("adv")).json()
    second = admin.call("POST", "/gateways", new_gateway("f01-own", kind="follower", accounts=["DU003"])).json()
    assert (first["port"], first["vnc_port"]) == (4101, 5901)
    assert (second["port"], second["vnc_port"]) == (4102, 5902)


def test_a_gateway_the_vm_cannot_hold_is_refused_naming_its_capacity(
    admin: AdminClient, clean_stack: LocalStack, firestore_db: firestore.Client
) -> None:
    vm_reported(firestore_db, capacity=1)
    assert admin.call("POST", "/gateways", new_gateway("adv")).status_code == 201
    refused = admin.call("POST", "/gateways", new_gateway("adv2"))

    assert refused.status_code == 409
    assert "gateway VM full (vm-a 1 of 1 gateways" in refused.json()["error"]["message"]
    assert firestore_db.collection("gateways").document("adv2").get().exists is False


def test_no_gateway_is_added_before_a_vm_has_reported(admin: AdminClient) -> None:
    refused = admin.call("POST", "/gateways", new_gateway())
    assert refused.status_code == 409
    assert "no gateway VM has reported" in refused.json()["error"]["message"]


def test_invalid_gateways_are_refused_with_their_field(admin: AdminClient, firestore_db: firestore.Client) -> None:
    vm_reported(firestore_db)
    bad_id = admin.call("POST", "/gateways", new_gateway("Bad_Id"))
    two_accounts = admin.call("POST", "/gateways", new_gateway("f01-own", kind="follower"))
    assert bad_id.status_code == 400
    assert bad_id.json()["error"]["problems"][0]["where"] == "body.id"
    assert two_accounts.status_code == 400
    assert "exactly one account" in two_accounts.text
    assert PASSWORD not in bad_id.text + two_accounts.text


def test_removing_a_gateway_deletes_its_login_and_alerts_the_followers_left_without_one(
    admin: AdminClient, clean_stack: LocalStack, firestore_db: firestore.Client, tap: Callable[[str], TopicTap]
) -> None:
    vm_reported(firestore_db)
    admin.call("POST", "/gateways", new_gateway())
    admin.call("POST", "/followers", new_follower("f01", gateway_id="adv", ibkr_account="DU001"))
    admin.call("POST", "/followers", new_follower("f02", gateway_id="adv", ibkr_account="DU002"))
    alerts = tap("alerts")

    removed = admin.call("POST", "/gateways/adv/remove")

    assert removed.status_code == 200
    assert removed.json()["followers_without_gateway"] == ["f01", "f02"]
    assert firestore_db.collection("gateways").document("adv").get().exists is False
    [message] = alerts.pull(1, timeout_s=10)
    alert = decode(message.data, AlertMessage).alert
    assert (alert.type, alert.severity, alert.context["followers"]) == ("gateway.removed", "CRITICAL", "f01,f02")
    assert "f01, f02" in alert.message
    assert "gateway-login-adv" not in [s.name.rsplit("/", 1)[-1] for s in
                                       Secrets(clean_stack.project).client.list_secrets(
                                           request={"parent": f"projects/{clean_stack.project}"})]


def test_an_accounts_change_that_would_strand_a_follower_is_refused(
    admin: AdminClient, firestore_db: firestore.Client
) -> None:
    vm_reported(firestore_db)
    admin.call("POST", "/gateways", new_gateway())
    admin.call("POST", "/followers", new_follower("f01", gateway_id="adv", ibkr_account="DU002"))

    refused = admin.call("PATCH", "/gateways/adv", {"accounts": ["DU001"]})
    widened = admin.call("PATCH", "/gateways/adv", {"accounts": ["DU001", "DU002", "DU003"], "mode": "live"})

    assert refused.status_code == 409
    assert "f01 (DU002)" in refused.json()["error"]["message"]
    assert widened.status_code == 200
    doc = firestore_db.collection("gateways").document("adv").get().to_dict()
    assert (doc["accounts"], doc["mode"]) == (["DU001", "DU002", "DU003"], "live")


def test_a_new_login_is_a_new_secret_version_and_is_never_echoed(
    admin: AdminClient, clean_stack: LocalStack, firestore_db: firestore.Client
) -> None:
    vm_reported(firestore_db)
    admin.call("POST", "/gateways", new_gateway())
    changed = admin.call("POST", "/gateways/adv/login", {"username": "advisor2", "password": "n3w-Pa55phrase"})

    assert changed.status_code == 200
    assert "n3w-Pa55phrase" not in changed.text
    assert GatewayLogin.from_secret(Secrets(clean_stack.project).read("gateway-login-adv")).username == "advisor2"
    assert GatewayLogin.from_secret(Secrets(clean_stack.project).read("gateway-login-adv", "1")).username == \
        "advisor_api"


def test_a_viewer_sees_gateways_and_changes_none(
    admin: AdminClient, viewer: AdminClient, firestore_db: firestore.Client
) -> None:
    vm_reported(firestore_db)
    admin.call("POST", "/gateways", new_gateway())
    assert viewer.call("GET", "/gateways").status_code == 200
    for method, path, body in (("POST", "/gateways", new_gateway("adv2")), ("POST", "/gateways/adv/remove", None),
                               ("POST", "/gateways/adv/restart", None), ("PATCH", "/gateways/adv", {"mode": "live"}),
                               ("POST", "/gateways/adv/login", {"username": "x", "password": "y"})):
        assert viewer.call(method, path, body).status_code == 403
    assert firestore_db.collection("gateways").document("adv").get().exists


def test_an_admin_approves_restarting_a_supervised_gateway_with_an_audit_and_a_hand_started_one_is_refused(
    admin: AdminClient, firestore_db: firestore.Client
) -> None:
    vm_reported(firestore_db)
    admin.call("POST", "/gateways", new_gateway())
    approved = admin.call("POST", "/gateways/adv/restart")
    unsupervised = admin.call("POST", "/gateways/gw1/restart")  # the seeded gateway runs on no VM
    missing = admin.call("POST", "/gateways/nope/restart")

    assert approved.status_code == 200, approved.text
    doc = firestore_db.collection("gateways").document("adv").get().to_dict()
    assert doc["restart_approved_by"] == approved.json()["restart_approved_by"] != ""
    assert datetime.fromisoformat(doc["restart_approved_at"]) <= datetime.now(UTC)
    [audit] = [d.to_dict() for d in firestore_db.collection("audit").stream()
               if (d.to_dict() or {}).get("action") == "gateway.restart"]
    assert (audit["gateway_id"], audit["state"]) == ("adv", "unreported")
    assert unsupervised.status_code == 409
    assert "runs on no gateway VM" in unsupervised.json()["error"]["message"]
    assert missing.status_code == 404
