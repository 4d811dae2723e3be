"""Permissions of the roles SpreadPilot grants (Google's predefined roles as documented, only those in use).

A role terraform grants that is missing here is an error that names it: its permissions must be looked up and
written down before the check can say what it allows.
"""

from __future__ import annotations

from typing import Any

PREDEFINED: dict[str, frozenset[str]] = {
    "roles/datastore.user": frozenset({
        "datastore.entities.get", "datastore.entities.list", "datastore.entities.create",
        "datastore.entities.update", "datastore.entities.delete",
    }),
    "roles/pubsub.publisher": frozenset({"pubsub.topics.publish"}),
    "roles/pubsub.subscriber": frozenset({"pubsub.subscriptions.consume", "pubsub.topics.attachSubscription"}),
    "roles/secretmanager.secretAccessor": frozenset({"secretmanager.versions.access"}),
    "roles/storage.objectCreator": frozenset({"storage.objects.create"}),
    "roles/storage.objectViewer": frozenset({"storage.objects.get", "storage.objects.list"}),
    "roles/iam.serviceAccountTokenCreator": frozenset({
        "iam.serviceAccounts.signBlob", "iam.serviceAccounts.signJwt", "iam.serviceAccounts.getAccessToken",
        "iam.serviceAccounts.getOpenIdToken",
    }),
    "roles/logging.logWriter": frozenset({"logging.logEntries.create"}),
    "roles/monitoring.metricWriter": frozenset({"monitoring.timeSeries.create", "monitoring.metricDescriptors.create"}),
}
CUSTOM_PREFIX = "custom/"


class UnknownRole(KeyError):
    """A granted role whose permissions are not written down here."""


def custom_roles(locals_: dict[str, Any]) -> dict[str, frozenset[str]]:
    """``custom/<key>`` → permissions, from iam.tf's ``custom_roles``."""
    roles = locals_.get("custom_roles", {})
    return {CUSTOM_PREFIX + key: frozenset(body["permissions"]) for key, body in roles.items()}


def permissions(role: str, custom: dict[str, frozenset[str]]) -> frozenset[str]:
    """The permissions ``role`` carries."""
    if role in custom:
        return custom[role]
    if role in PREDEFINED:
        return PREDEFINED[role]
    raise UnknownRole(f"role {role!r}: its permissions are not listed in iamcheck.roles (add them from Google's "
                      "role reference) nor is it a custom role of iam.tf")
