"""Terraform declares every resource of resources.yaml through for_each over the decoded file, and nothing
declared there is unused by the code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from infra_support import REPO, TERRAFORM

CODE_ROOTS = [REPO / "functions", REPO / "gateway-vm" / "executor", REPO / "shared" / "spreadpilot"]


DECLARATION = REPO / "shared" / "spreadpilot" / "resources.py"


def code_text(roots: list[Path] = CODE_ROOTS) -> str:
    """Production Python the resource names could be used from (not the module that declares the constants)."""
    return "\n".join(p.read_text(encoding="utf-8") for root in roots for p in root.rglob("*.py")
                     if "__pycache__" not in p.parts and p != DECLARATION)


def principal_code(principal: str) -> str:
    """The code a service account runs: the function's folder, or the executor's package."""
    root = REPO / "gateway-vm" / "executor" if principal == "executor" else REPO / "functions" / principal
    return code_text([root])


def references_topic(code: str, topic: str) -> bool:
    """The topic's literal name, or its spreadpilot.resources constant imported from there."""
    constants = {value: const for const, value in resources_py_constants().items()}
    const = constants.get(topic)
    imported = const is not None and re.search(
        rf"from spreadpilot\.resources import [^\n]*\b{const}\b|resources\.{const}\b", code)
    return f'"{topic}"' in code or bool(imported)


def resources_py_constants() -> dict[str, str]:
    """``spreadpilot.resources`` constants: name → value (e.g. SIGNALS → "signals")."""
    text = (REPO / "shared" / "spreadpilot" / "resources.py").read_text(encoding="utf-8")
    return dict(re.findall(r'^([A-Z_]+) = "([^"]+)"$', text, flags=re.MULTILINE))


def test_terraform_reads_resources_yaml_instead_of_repeating_names(tf: dict[str, Any]) -> None:
    assert 'yamldecode(file("${path.module}/../shared/spreadpilot/resources.yaml"))' in tf["locals"]["resources"]


@pytest.mark.parametrize(
    ("rtype", "name", "over"),
    [
        ("google_pubsub_topic", "topic", "${local.topics}"),
        ("google_pubsub_subscription", "pull", "${local.pull_subscriptions}"),
        ("google_pubsub_subscription", "push", "${local.push_subscriptions}"),
        ("google_cloud_scheduler_job", "job", "${local.scheduler}"),
        ("google_cloudfunctions2_function", "function", "${local.functions}"),
        ("google_service_account", "function", "${local.functions}"),
        ("google_secret_manager_secret", "secret", "${local.secrets}"),
    ],
)
def test_each_declared_kind_is_created_for_each_entry_of_resources_yaml(
    tf: dict[str, Any], rtype: str, name: str, over: str
) -> None:
    assert tf["resources"][rtype][name]["for_each"] == over


def test_locals_split_exactly_the_declared_subscriptions(tf: dict[str, Any], declared: dict[str, Any]) -> None:
    loc = tf["locals"]
    assert "sub.type == \"push\"" in loc["push_subscriptions"]
    assert "sub.type == \"pull\"" in loc["pull_subscriptions"]
    types = {sub["type"] for sub in declared["subscriptions"].values()}
    assert types <= {"push", "pull"}


def test_no_declared_name_is_spelled_out_in_terraform_resources(declared: dict[str, Any]) -> None:
    names = set(declared["topics"]) | set(declared["subscriptions"])
    names |= set(declared["scheduler"]) | set(declared["secrets"])
    # Names may appear as keys of the access maps in iam.tf (checked below); nowhere else.
    text = "\n".join(p.read_text(encoding="utf-8") for p in TERRAFORM.glob("*.tf") if p.name != "iam.tf")
    spelled = sorted(n for n in names if re.search(rf'"{re.escape(n)}"', text))
    assert spelled == []


def test_access_maps_name_only_declared_resources_and_principals(tf: dict[str, Any], declared: dict[str, Any]) -> None:
    loc = tf["locals"]
    principals = set(declared["functions"]) | {"executor"}
    topics = {t for grants in loc["topic_publishers"].values() for t in grants}
    subs = {s for grants in loc["subscription_subscribers"].values() for s in grants}
    secrets = {s for grants in loc["secret_accessors"].values() for s in grants}
    who = set().union(*(set(loc[m]) for m in ("project_roles", "topic_publishers", "subscription_subscribers",
                                               "secret_accessors", "statements_bucket_roles")))
    assert topics <= set(declared["topics"])
    assert subs <= set(declared["subscriptions"])
    assert secrets <= set(declared["secrets"])
    assert who <= principals


def test_every_declared_secret_is_read_by_some_service_account_and_named_in_the_code(
    tf: dict[str, Any], declared: dict[str, Any]
) -> None:
    granted = {s for grants in tf["locals"]["secret_accessors"].values() for s in grants}
    code = code_text()
    assert set(declared["secrets"]) <= granted
    assert [s for s in declared["secrets"] if s not in code] == []


def test_secret_env_names_terraform_injects_are_the_ones_the_functions_read(tf: dict[str, Any]) -> None:
    for function, grants in tf["locals"]["secret_accessors"].items():
        folder = REPO / "functions" / function
        text = "\n".join(p.read_text(encoding="utf-8") for p in folder.rglob("*.py"))
        for secret, grant in grants.items():
            env = grant["env"]
            bare = env.removeprefix("SPREADPILOT_").lower()
            assert env in text or re.search(rf"\b{bare}\b", text), f"{function} does not read {env} ({secret})"


def test_every_declared_topic_is_published_by_code_scheduler_or_dead_lettering(declared: dict[str, Any]) -> None:
    constants = resources_py_constants()
    code = code_text()
    scheduled = {job["topic"] for job in declared["scheduler"].values()}
    dead = {t["dead_letter"] for t in declared["topics"].values() if t and t.get("dead_letter")}
    by_code = {value for const, value in constants.items() if re.search(rf"\b{const}\b", code)}
    by_code |= {t for t in declared["topics"] if f'"{t}"' in code}
    unused = sorted(set(declared["topics"]) - scheduled - dead - by_code)
    assert unused == []


def test_every_declared_topic_has_a_subscription(declared: dict[str, Any]) -> None:
    subscribed = {sub["topic"] for sub in declared["subscriptions"].values()}
    assert sorted(set(declared["topics"]) - subscribed) == []


def test_every_scheduler_job_ticks_a_topic_that_a_function_is_pushed_from(declared: dict[str, Any]) -> None:
    pushed = {sub["topic"] for sub in declared["subscriptions"].values() if sub["type"] == "push"}
    assert sorted(job["topic"] for job in declared["scheduler"].values() if job["topic"] not in pushed) == []


def test_every_pull_subscription_is_read_by_the_executor_or_watched_as_dead_letters(
    declared: dict[str, Any], tf: dict[str, Any]
) -> None:
    code = code_text()
    dead = {t["dead_letter"] for t in declared["topics"].values() if t and t.get("dead_letter")}
    for name, sub in declared["subscriptions"].items():
        if sub["type"] != "pull":
            continue
        used = sub["topic"] in dead or f'"{name}"' in code
        assert used, f"pull subscription {name} is read by nothing"
    assert "contains(local.dead_letter_topics, sub.topic)" in tf["locals"]["dead_letter_subs"]


def test_every_declared_function_has_its_folder_and_entry_point(declared: dict[str, Any]) -> None:
    missing = []
    for name, fn in declared["functions"].items():
        main = REPO / "functions" / name / "main.py"
        if not main.is_file() or not re.search(rf"^def {fn['entry_point']}\(", main.read_text(encoding="utf-8"),
                                               flags=re.MULTILINE):
            missing.append(name)
    assert missing == []


def test_every_push_subscription_targets_a_declared_function(declared: dict[str, Any]) -> None:
    targets = {sub["function"] for sub in declared["subscriptions"].values() if sub["type"] == "push"}
    assert targets <= set(declared["functions"])
    pubsub_functions = {n for n, f in declared["functions"].items() if f["trigger"] == "pubsub"}
    assert pubsub_functions <= targets



def test_every_topic_a_service_account_may_publish_to_is_one_its_code_publishes_to(tf: dict[str, Any]) -> None:
    extra = [(who, topic) for who, topics in tf["locals"]["topic_publishers"].items() for topic in topics
             if not references_topic(principal_code(who), topic)]
    assert extra == [], "grant only what the code publishes (least privilege)"


def test_every_subscription_a_service_account_may_pull_is_one_its_code_pulls(tf: dict[str, Any]) -> None:
    extra = [(who, sub) for who, subs in tf["locals"]["subscription_subscribers"].items() for sub in subs
             if f'"{sub}"' not in principal_code(who)]
    assert extra == []
