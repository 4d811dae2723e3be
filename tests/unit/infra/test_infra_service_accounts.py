"""One service account per function and one for the VM; every role each holds is listed with its reason, and the
README's table shows exactly those grants."""

from __future__ import annotations

import re
from typing import Any

from infra_support import TERRAFORM

GRANT_MAPS = {
    "project_roles": lambda role, why: (role, "project", why),
    "topic_publishers": lambda topic, why: ("roles/pubsub.publisher", f"topic `{topic}`", why),
    "subscription_subscribers": lambda sub, why: ("roles/pubsub.subscriber", f"subscription `{sub}`", why),
    "secret_accessors": lambda secret, g: ("roles/secretmanager.secretAccessor", f"secret `{secret}`", g["why"]),
    "secret_prefix_roles": lambda role, g: (role, f"secrets `{g['prefix']}*`", g["why"]),
    "statements_bucket_roles": lambda role, why: (role, "statements bucket", why),
    "sources_bucket_roles": lambda role, why: (role, "function-sources bucket", why),
    "own_account_roles": lambda role, why: (role, "its own service account", why),
}


def grants(loc: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(principal, role, on, why) for every grant of iam.tf's locals."""
    return [(who, *make(key, value)) for name, make in GRANT_MAPS.items()
            for who, entries in loc[name].items() for key, value in entries.items()]


def readme_rows() -> set[tuple[str, str, str]]:
    """(principal, role, on) rows of the README's table."""
    text = (TERRAFORM / "README.md").read_text(encoding="utf-8")
    return {(m[0], m[1], m[2]) for m in re.findall(r"^\| (\w+) \| `([^`]+)` \| ([^|]+?) \|", text, re.MULTILINE)}


def test_each_function_and_the_vm_has_its_own_service_account(tf: dict[str, Any], declared: dict[str, Any]) -> None:
    accounts = tf["resources"]["google_service_account"]
    assert accounts["function"]["for_each"] == "${local.functions}"
    assert accounts["vm"]["account_id"] == "gateway-vm"
    assert tf["resources"]["google_compute_instance"]["gateway"]["service_account"][0]["email"] == (
        "${google_service_account.vm.email}"
    )
    assert tf["resources"]["google_cloudfunctions2_function"]["function"]["service_config"][0][
        "service_account_email"] == "${google_service_account.function[each.key].email}"


def test_every_grant_carries_a_reason(tf: dict[str, Any]) -> None:
    listed = grants(tf["locals"])
    assert len(listed) > 20
    assert [(who, role, on) for who, role, on, why in listed if len(why.strip()) < 15] == []


def test_no_service_account_holds_an_owner_editor_or_admin_role(tf: dict[str, Any]) -> None:
    roles = {role for _, role, _, _ in grants(tf["locals"])}
    assert [r for r in roles if r in ("roles/owner", "roles/editor") or r.endswith(".admin")] == []


def test_every_function_with_a_role_is_listed_and_every_function_has_firestore_access(
    tf: dict[str, Any], declared: dict[str, Any]
) -> None:
    assert set(tf["locals"]["project_roles"]) == set(declared["functions"]) | {"executor"}


def test_readme_role_table_lists_exactly_the_grants_of_iam_tf(tf: dict[str, Any]) -> None:
    in_terraform = {(who, role, on) for who, role, on, _ in grants(tf["locals"])}
    assert readme_rows() == in_terraform


def test_gateway_logins_are_reachable_only_through_a_condition_on_the_gateway_prefix(tf: dict[str, Any]) -> None:
    prefix_grants = tf["locals"]["secret_prefix_roles"]
    assert {who: {role: g["prefix"] for role, g in roles.items()} for who, roles in prefix_grants.items()} == {
        "admin_api": {"custom/gatewayLoginWriter": "gateway-login-"},
        "executor": {"roles/secretmanager.secretAccessor": "gateway-login-"},
    }
    binding = tf["resources"]["google_project_iam_member"]["secret_prefix"]
    assert binding["for_each"] == "${local.secret_prefix_grants}"
    assert "resource.name.startsWith" in binding["condition"][0]["expression"]
    assert "${data.google_project.this.number}/secrets/${each.value.prefix}" in binding["condition"][0]["expression"]


def test_the_gateway_login_writer_cannot_read_a_secret(tf: dict[str, Any]) -> None:
    writer = set(tf["locals"]["custom_roles"]["gatewayLoginWriter"]["permissions"])
    assert writer == {"secretmanager.versions.add", "secretmanager.secrets.delete"}
    assert not any(p.endswith((".access", ".get", ".list")) for role in tf["locals"]["custom_roles"].values()
                   for p in role["permissions"] if p.startswith("secretmanager."))


def test_no_secret_is_named_after_a_follower_any_more(tf: dict[str, Any]) -> None:
    assert "google_secret_manager_secret" not in tf["resources"] or set(
        tf["resources"]["google_secret_manager_secret"]) == {"secret"}
