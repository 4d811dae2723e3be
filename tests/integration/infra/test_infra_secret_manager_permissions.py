"""The local Secret Manager fake refuses what production refuses: each caller is the service account iam.tf gives
it, and may do exactly what iam.tf grants (IAM conditions on the gateway-login- prefix included).

The official client talks to the stack's fake the way production code does (``spreadpilot.secrets``), with the
identity in ``LOCAL_IDENTITY``; a fake started from a copy of terraform without one grant refuses that call.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from google.api_core.exceptions import PermissionDenied, Unauthenticated

from fakes.secret_manager import make_server
from iamcheck.accounts import OWNER, account_email
from iamcheck.grants import policy_for
from spreadpilot.secrets import GatewayLogin, Secrets, gateway_login_secret
from stack.local_stack import LocalStack
from stack.processes import free_port

ROOT = Path(__file__).resolve().parents[3]
LOGIN = GatewayLogin(username="advisor_api", password="hunter2-but-longer")  # type: ignore[arg-type]


def as_identity(monkeypatch: pytest.MonkeyPatch, stack: LocalStack, principal: str | None) -> Secrets:
    """Secrets as ``principal`` (a function, ``executor``, the project ``owner``, or None for no credentials)."""
    if principal is None:
        monkeypatch.delenv("LOCAL_IDENTITY", raising=False)
    else:
        monkeypatch.setenv("LOCAL_IDENTITY", OWNER if principal == "owner" else account_email(principal, stack.project))
    return Secrets(stack.project)


def test_a_call_without_credentials_is_unauthenticated(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(Unauthenticated):
        as_identity(monkeypatch, stack, None).read("sendgrid-api-key")


def test_the_admin_api_writes_a_gateway_login_but_can_neither_read_it_nor_write_outside_the_gateway_prefix(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_identity(monkeypatch, stack, "owner").write("existing-api-key-a", "SG.real")
    admin = as_identity(monkeypatch, stack, "admin_api")
    name = gateway_login_secret("gw-perm-a")

    admin.write(name, LOGIN.to_secret())

    with pytest.raises(PermissionDenied):
        admin.read(name)
    with pytest.raises(PermissionDenied):
        admin.write("existing-api-key-a", "SG.stolen")
    with pytest.raises(PermissionDenied):
        admin.write("ibkr-perm-a", '{"username": "x", "password": "y"}')  # the old follower name space is closed
    assert admin.delete(name) is True


def test_the_gateway_vm_reads_gateway_logins_only(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = as_identity(monkeypatch, stack, "owner")
    name = gateway_login_secret("gw-perm-b")
    owner.write(name, LOGIN.to_secret())
    owner.write("not-a-gateway-login-b", "SG.real")
    vm = as_identity(monkeypatch, stack, "executor")

    assert GatewayLogin.from_secret(vm.read(name)).username == "advisor_api"
    with pytest.raises(PermissionDenied):
        vm.read("not-a-gateway-login-b")
    with pytest.raises(PermissionDenied):
        vm.write(name, LOGIN.to_secret())
    with pytest.raises(PermissionDenied):
        vm.delete(name)


def test_a_function_without_secret_grants_may_not_create_any_secret(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(PermissionDenied):
        as_identity(monkeypatch, stack, "telegram_bot").write(gateway_login_secret("gw-perm-c"), LOGIN.to_secret())


def test_a_missing_secret_is_permission_denied_to_a_caller_without_access_not_not_found(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(PermissionDenied):
        as_identity(monkeypatch, stack, "pnl").read("no-such-secret")


@contextmanager
def fake_from(terraform: Path, project: str) -> Iterator[str]:
    port = free_port("127.0.0.1")
    server = make_server("127.0.0.1", port, policy_for(terraform, project, [OWNER]))
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(grace=0)


def test_removing_the_vms_gateway_login_grant_from_iam_tf_makes_the_fake_refuse_the_read(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    terraform = tmp_path / "terraform"
    shutil.copytree(ROOT / "terraform", terraform)
    iam = terraform / "iam.tf"
    text = iam.read_text(encoding="utf-8")
    grant = '      "roles/secretmanager.secretAccessor" = { prefix = "gateway-login-"'
    assert grant in text
    iam.write_text("\n".join(line for line in text.splitlines() if not line.startswith(grant)), encoding="utf-8")
    name = gateway_login_secret("gw-perm-d")

    for folder, expect_denied in ((ROOT / "terraform", False), (terraform, True)):
        with fake_from(folder, stack.project) as host:
            monkeypatch.setenv("SECRET_MANAGER_EMULATOR_HOST", host)
            as_identity(monkeypatch, stack, "owner").write(name, LOGIN.to_secret())
            vm = as_identity(monkeypatch, stack, "executor")
            if expect_denied:
                with pytest.raises(PermissionDenied):
                    vm.read(name)
            else:
                assert GatewayLogin.from_secret(vm.read(name)).password.get_secret_value() == "hunter2-but-longer"
