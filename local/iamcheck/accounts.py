"""The service accounts of ``terraform/iam.tf``: one per function (``fn-<name>``) and ``gateway-vm`` for the VM."""

from __future__ import annotations

from collections.abc import Iterable

EXECUTOR = "executor"  # the principal of the gateway VM (executor, supervisor, health probe, startup script)
OWNER = "owner@spreadpilot.local"  # the local stack's project owner: the person who deploys and adds secret values


def account_email(principal: str, project: str) -> str:
    """The service account e-mail iam.tf gives ``principal`` (``fn-<name>``, or ``gateway-vm`` for the executor)."""
    account = "gateway-vm" if principal == EXECUTOR else "fn-" + principal.replace("_", "-")
    return f"{account}@{project}.iam.gserviceaccount.com"


def principal_of(email: str, principals: Iterable[str], project: str) -> str | None:
    """The principal whose service account ``email`` is, or None."""
    return next((p for p in principals if account_email(p, project) == email), None)
