"""IAM proven against the code: every Google API call of each function and of the gateway VM is derived from the
code it runs (``iamcheck.uses``: reachable modules, settings, systemd units, startup script), and
``terraform/iam.tf`` grants exactly those — nothing missing, nothing unused.

The check proves it can fail: each grant removed from a copy of the grants makes it report the uses that grant
covered, and code added to a copy of the repository that calls an API it is not granted makes it fail too.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
from infra_support import REPO

from iamcheck.check import Report, check, compare
from iamcheck.grants import BUCKET, PROJECT, SECRET, SUBSCRIPTION, TOPIC, Grant, Resource, grants
from iamcheck.terraform import Terraform
from iamcheck.uses import Repo, Use, derive

_TERRAFORM = Terraform.load(REPO / "terraform")
_USES = [u for d in derive(Repo(REPO), _TERRAFORM) for u in d.uses]
GRANTS = grants(_TERRAFORM)


@pytest.fixture(scope="module")
def report() -> Report:
    return check(Repo(REPO), _TERRAFORM)


def test_every_google_api_use_of_the_code_is_granted_and_every_grant_is_used(report: Report) -> None:
    assert report.problems == []
    assert [u.describe() for u in report.missing] == []
    assert [g.describe() for g in report.unused] == []


@pytest.mark.parametrize(("principal", "permission", "resource"), [
    ("signal_poller", "pubsub.topics.publish", Resource(TOPIC, "signals")),
    ("executor", "pubsub.topics.publish", Resource(TOPIC, "alerts")),  # through Alerts(topic=settings.alerts_topic)
    ("executor", "pubsub.subscriptions.consume", Resource(SUBSCRIPTION, "executor-signals")),
    ("executor", "secretmanager.versions.access", Resource(SECRET, "gateway-login-", prefix=True)),  # supervisor
    ("executor", "storage.objects.get", Resource(BUCKET, "sources")),  # startup.sh's gcloud storage cp
    ("executor", "logging.logEntries.create", Resource(PROJECT)),  # the Ops Agent
    ("admin_api", "secretmanager.versions.add", Resource(SECRET, "gateway-login-", prefix=True)),
    ("admin_api", "secretmanager.secrets.create", Resource(PROJECT)),
    ("admin_api", "firebaseauth.users.update", Resource(PROJECT)),  # operators' role claims
    ("admin_api", "storage.objects.get", Resource(BUCKET, "statements")),  # signed download URLs
    ("reports", "storage.objects.create", Resource(BUCKET, "statements")),  # bucket from terraform's env value
    ("telegram_bot", "secretmanager.versions.access", Resource(SECRET, "telegram-webhook-secret")),  # SecretStr env
])
def test_the_derivation_finds_each_kind_of_call_where_the_code_makes_it(
    principal: str, permission: str, resource: Resource
) -> None:
    found = [u for u in _USES if (u.principal, u.permission, u.resource) == (principal, permission, resource)]
    assert found, f"{principal} {permission} on {resource} was not derived"


def test_no_function_writes_a_follower_named_secret_any_more() -> None:
    writes = [u for u in _USES if u.permission == "secretmanager.versions.add"]
    assert {u.resource for u in writes} == {Resource(SECRET, "gateway-login-", prefix=True)}


def _without(tf: Terraform, grant: Grant) -> Terraform:
    """A copy of terraform whose iam.tf lacks ``grant``."""
    loc = copy.deepcopy(tf.locals)
    entries = loc[grant.source][grant.principal]
    key = {"project_roles": grant.role, "topic_publishers": grant.resource.name,
           "subscription_subscribers": grant.resource.name, "secret_accessors": grant.resource.name,
           "secret_prefix_roles": grant.role}.get(grant.source, grant.role)
    del entries[key]
    return Terraform(loc, tf.resources)


@pytest.mark.parametrize("grant", GRANTS, ids=[f"{g.principal}-{g.role}-{g.resource}" for g in GRANTS])
def test_removing_any_one_grant_from_iam_tf_fails_the_check(grant: Grant) -> None:
    mutated = compare(_USES, grants(_without(_TERRAFORM, grant)))

    assert mutated.missing, f"nothing fails without {grant.describe()}"
    assert {u.principal for u in mutated.missing} == {grant.principal}
    assert all(grant.allows(u.permission, u.resource) for u in mutated.missing)


def test_a_grant_that_no_code_uses_fails_the_check() -> None:
    spare = Grant("watchdog", "roles/pubsub.publisher", Resource(TOPIC, "commands"), "topic_publishers",
                  "an extra grant", frozenset({"pubsub.topics.publish"}))
    report = compare(_USES, [*GRANTS, spare])
    assert report.unused == [spare]


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """The code, the VM's files and terraform, copied so a test may change them."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".terraform")
    for part in ("functions", "shared", "gateway-vm", "terraform"):
        shutil.copytree(REPO / part, tmp_path / part, ignore=ignore)
    return tmp_path


def _append(path: Path, code: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n\n" + code.strip() + "\n", encoding="utf-8")


def _missing(report: Report) -> set[tuple[str, str, Resource]]:
    return {(u.principal, u.permission, u.resource) for u in report.missing}


def test_a_function_that_starts_publishing_to_a_topic_it_is_not_granted_fails_the_check(repo_copy: Path) -> None:
    _append(repo_copy / "functions/telegram_bot/telegram_bot/bot.py", """
def leak_signal(publisher):
    from spreadpilot.resources import SIGNALS
    publisher.publish(SIGNALS, None)
""")
    report = check(Repo(repo_copy))
    assert _missing(report) == {("telegram_bot", "pubsub.topics.publish", Resource(TOPIC, "signals"))}


def test_a_function_that_starts_reading_a_secret_it_is_not_granted_fails_the_check(repo_copy: Path) -> None:
    _append(repo_copy / "functions/watchdog/deadman/adapters.py", """
def peek(secrets):
    return secrets.read("sendgrid-api-key")
""")
    report = check(Repo(repo_copy))
    assert _missing(report) == {("watchdog", "secretmanager.versions.access", Resource(SECRET, "sendgrid-api-key"))}


def test_the_supervisor_reading_a_secret_outside_the_gateway_prefix_fails_the_check(repo_copy: Path) -> None:
    path = repo_copy / "gateway-vm/deploy/supervisor/supervisor.py"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("name = gateway_login_secret(gateway.id)", 'name = "telegram-bot-token"'),
                    encoding="utf-8")
    report = check(Repo(repo_copy))
    assert _missing(report) == {("executor", "secretmanager.versions.access", Resource(SECRET, "telegram-bot-token"))}
    assert [g.describe() for g in report.unused] == [
        "executor: roles/secretmanager.secretAccessor on secret gateway-login-* (secret_prefix_roles)"]


def test_code_using_a_google_api_the_check_does_not_know_fails_the_check(repo_copy: Path) -> None:
    _append(repo_copy / "functions/pnl/pnl/alerts.py", """
def export(rows):
    from google.cloud import bigquery
    bigquery.Client().insert_rows_json("t", rows)
""")
    report = check(Repo(repo_copy))
    assert any("pnl.alerts uses google.cloud.bigquery" in p for p in report.problems)


def test_a_call_whose_resource_cannot_be_derived_fails_the_check(repo_copy: Path) -> None:
    _append(repo_copy / "functions/admin_api/admin_api/controls.py", """
def forward(deps, call):
    deps.publisher.publish(call.query("topic"), None)
""")
    report = check(Repo(repo_copy))
    assert any("admin_api.controls" in p and "topic does not resolve" in p for p in report.problems)


def test_a_new_systemd_unit_on_the_vm_brings_its_code_into_the_check(repo_copy: Path) -> None:
    (repo_copy / "gateway-vm/deploy/exporter.py").write_text(
        'from spreadpilot.secrets import Secrets\n\n'
        'secrets = Secrets("p")\nsecrets.read("sheets-service-account")\n', encoding="utf-8")
    (repo_copy / "gateway-vm/deploy/systemd/spreadpilot-exporter.service").write_text(
        "[Service]\nExecStart=/usr/bin/python3 /opt/spreadpilot/deploy/exporter.py\n", encoding="utf-8")
    report = check(Repo(repo_copy))
    assert ("executor", "secretmanager.versions.access", Resource(SECRET, "sheets-service-account")) in \
        _missing(report)


def test_removing_a_grant_from_the_hcl_text_itself_fails_the_check(repo_copy: Path) -> None:
    iam = repo_copy / "terraform/iam.tf"
    line = '      alerts = "raises executor-heartbeat and gateway-disconnected alerts"\n'
    text = iam.read_text(encoding="utf-8")
    assert line in text
    iam.write_text(text.replace(line, ""), encoding="utf-8")
    report = check(Repo(repo_copy))
    assert _missing(report) == {("watchdog", "pubsub.topics.publish", Resource(TOPIC, "alerts"))}


def test_every_use_names_the_code_that_makes_it() -> None:
    unexplained: list[Use] = [u for u in _USES if not u.where]
    assert unexplained == []
