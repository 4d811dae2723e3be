"""Every grant of ``terraform/iam.tf`` as (principal, permissions, resource), and a ``Policy`` that answers for one
caller identity the way Google's IAM answers for the service account behind an access token.

Resources are named as the code and terraform both know them: a topic, a subscription or a secret by its name, a
bucket by its terraform resource name (``statements``, ``sources``), the project, a principal's own service account.
A grant limited by an IAM condition to a secret-name prefix covers exactly the secrets with that prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from iamcheck.accounts import principal_of
from iamcheck.roles import custom_roles, permissions
from iamcheck.terraform import Terraform

PROJECT = "project"
TOPIC = "topic"
SUBSCRIPTION = "subscription"
SECRET = "secret"
BUCKET = "bucket"
OWN_ACCOUNT = "own_account"


@dataclass(frozen=True, order=True)
class Resource:
    """What a permission applies to; ``prefix`` means every resource of ``kind`` whose name starts with ``name``."""

    kind: str
    name: str = ""
    prefix: bool = False

    def __str__(self) -> str:
        if self.kind == PROJECT:
            return "project"
        return f"{self.kind} {self.name}{'*' if self.prefix else ''}"

    def covers(self, other: Resource) -> bool:
        """Whether a grant on this resource applies to ``other``."""
        if self.kind == PROJECT and not self.prefix:
            return True  # a project-level grant applies to everything in the project
        if self.kind != other.kind:
            return False
        if self.prefix:
            return other.name.startswith(self.name)
        return not other.prefix and other.name == self.name


@dataclass(frozen=True, order=True)
class Grant:
    """One grant: ``principal`` holds ``role`` (its ``permissions``) on ``resource``; ``source`` is the iam.tf map."""

    principal: str
    role: str
    resource: Resource
    source: str
    why: str
    permissions: frozenset[str]

    def allows(self, permission: str, resource: Resource) -> bool:
        """Whether this grant alone allows ``permission`` on ``resource``."""
        return permission in self.permissions and self.resource.covers(resource)

    def describe(self) -> str:
        return f"{self.principal}: {self.role} on {self.resource} ({self.source})"


def grants(tf: Terraform) -> list[Grant]:
    """Every grant of iam.tf's access maps (the locals its ``google_*_iam_member`` resources are made from)."""
    loc = tf.locals
    custom = custom_roles(loc)
    found: list[Grant] = []

    def add(who: str, role: str, resource: Resource, source: str, why: str) -> None:
        found.append(Grant(who, role, resource, source, why, permissions(role, custom)))

    for who, roles in loc["project_roles"].items():
        for role, why in roles.items():
            add(who, role, Resource(PROJECT), "project_roles", why)
    for who, topics in loc["topic_publishers"].items():
        for topic, why in topics.items():
            add(who, "roles/pubsub.publisher", Resource(TOPIC, topic), "topic_publishers", why)
    for who, subs in loc["subscription_subscribers"].items():
        for sub, why in subs.items():
            add(who, "roles/pubsub.subscriber", Resource(SUBSCRIPTION, sub), "subscription_subscribers", why)
    for who, secrets in loc["secret_accessors"].items():
        for secret, grant in secrets.items():
            add(who, "roles/secretmanager.secretAccessor", Resource(SECRET, secret), "secret_accessors", grant["why"])
    for who, roles in loc.get("secret_prefix_roles", {}).items():
        for role, grant in roles.items():
            add(who, role, Resource(SECRET, grant["prefix"], prefix=True), "secret_prefix_roles", grant["why"])
    for who, roles in loc["statements_bucket_roles"].items():
        for role, why in roles.items():
            add(who, role, Resource(BUCKET, "statements"), "statements_bucket_roles", why)
    for who, roles in loc["sources_bucket_roles"].items():
        for role, why in roles.items():
            add(who, role, Resource(BUCKET, "sources"), "sources_bucket_roles", why)
    for who, roles in loc["own_account_roles"].items():
        for role, why in roles.items():
            add(who, role, Resource(OWN_ACCOUNT, who), "own_account_roles", why)
    return sorted(found)


def secret_env(tf: Terraform) -> dict[str, dict[str, str]]:
    """principal → {env var → secret}: the secrets Cloud Run injects into a function as environment variables."""
    return {who: {g["env"]: secret for secret, g in secrets.items()}
            for who, secrets in tf.locals["secret_accessors"].items()}


_SECRET_NAME = re.compile(r"^projects/[^/]+/secrets/([^/]+)(?:/versions/[^/]+)?$")
_PROJECT_NAME = re.compile(r"^projects/[^/]+$")


def resource_of(name: str) -> Resource:
    """A Secret Manager resource name (``projects/P[/secrets/S[/versions/V]]``) as a ``Resource``."""
    if _PROJECT_NAME.match(name):
        return Resource(PROJECT)
    found = _SECRET_NAME.match(name)
    if found:
        return Resource(SECRET, found.group(1))
    raise ValueError(f"not a project or secret resource name: {name!r}")


@dataclass(frozen=True)
class Policy:
    """Who may do what: terraform's grants for service accounts, everything for the project's owners."""

    project: str
    grants: tuple[Grant, ...]
    owners: frozenset[str] = frozenset()

    @classmethod
    def from_terraform(cls, tf: Terraform, project: str, owners: Iterable[str] = ()) -> Policy:
        return cls(project, tuple(grants(tf)), frozenset(owners))

    def principal(self, identity: str) -> str | None:
        """The principal an identity (a service account e-mail) is, or None for anyone else."""
        return principal_of(identity, {g.principal for g in self.grants}, self.project)

    def allows(self, identity: str, permission: str, resource: Resource) -> bool:
        """Whether ``identity`` holds ``permission`` on ``resource``."""
        if identity in self.owners:
            return True
        who = self.principal(identity)
        return who is not None and any(g.principal == who and g.allows(permission, resource) for g in self.grants)


def policy_for(terraform_dir: Path, project: str, owners: Iterable[str] = ()) -> Policy:
    """The policy of the terraform folder ``terraform_dir``."""
    return Policy.from_terraform(Terraform.load(terraform_dir), project, owners)
