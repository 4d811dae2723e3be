"""Secret Manager access: the one home of every credential.

Name spaces: the secrets of ``resources.yaml`` (injected into functions as env), and each gateway's IB Gateway login
under ``gateway-login-<gateway id>`` (JSON ``{username, password}``), written by the admin API and read by the
gateway VM's supervisor. IAM grants each side only that prefix, and no follower id can produce a name in it.

Seams (local stack only): with ``SECRET_MANAGER_EMULATOR_HOST`` set, the official client talks to the local fake over
an insecure channel, presenting ``LOCAL_IDENTITY`` (the service account the process runs as there) as its bearer
token, which the fake checks against terraform's grants as Google checks the metadata server's token.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.api_core.exceptions import AlreadyExists, NotFound
from google.cloud import secretmanager
from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
    SecretManagerServiceGrpcTransport,
)
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from spreadpilot.errors import ConfigError
from spreadpilot.models import GATEWAY_ID_PATTERN

EMULATOR_ENV = "SECRET_MANAGER_EMULATOR_HOST"
IDENTITY_ENV = "LOCAL_IDENTITY"
GATEWAY_LOGIN_PREFIX = "gateway-login-"


def gateway_login_secret(gateway_id: str) -> str:
    """The secret holding gateway ``gateway_id``'s login; only gateway ids (``GATEWAY_ID_PATTERN``) have one."""
    if not re.fullmatch(GATEWAY_ID_PATTERN, gateway_id):
        raise ValueError(f"gateway id {gateway_id!r} must match {GATEWAY_ID_PATTERN}")
    return GATEWAY_LOGIN_PREFIX + gateway_id


class GatewayLogin(BaseModel):
    """An IB Gateway login as stored in its secret (the password never leaves this object unmasked by accident)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    username: str = Field(min_length=1, max_length=200)
    password: SecretStr = Field(min_length=1, max_length=500)

    def to_secret(self) -> str:
        """The secret's value."""
        return json.dumps({"username": self.username, "password": self.password.get_secret_value()})

    @classmethod
    def from_secret(cls, value: str) -> GatewayLogin:
        """Parse a secret's value; ``ConfigError`` (naming no value) if it is not a login."""
        try:
            return cls.model_validate_json(value)
        except ValueError as exc:
            raise ConfigError("the gateway login secret is not JSON {username, password}") from exc


@dataclass(frozen=True)
class _CallDetails:
    """``grpc.ClientCallDetails`` with one more metadata entry (grpc reads these attributes)."""

    method: str
    timeout: float | None
    metadata: tuple[tuple[str, str], ...]
    credentials: Any
    wait_for_ready: bool | None
    compression: Any


class _Identity(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]  # grpc ships no stubs
    """Adds ``authorization: Bearer <identity>`` to every call, as the real client adds its access token."""

    def __init__(self, identity: str) -> None:
        self.metadata = ("authorization", f"Bearer {identity}")

    def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        metadata = (*(details.metadata or ()), self.metadata)
        return continuation(_CallDetails(details.method, details.timeout, metadata, details.credentials,
                                         details.wait_for_ready, details.compression), request)


def secret_client() -> secretmanager.SecretManagerServiceClient:
    """The official client, pointed at the local fake when ``SECRET_MANAGER_EMULATOR_HOST`` is set."""
    host = os.environ.get(EMULATOR_ENV)
    if host:
        channel = grpc.insecure_channel(host)
        identity = os.environ.get(IDENTITY_ENV)
        if identity:
            channel = grpc.intercept_channel(channel, _Identity(identity))
        return secretmanager.SecretManagerServiceClient(transport=SecretManagerServiceGrpcTransport(channel=channel))
    return secretmanager.SecretManagerServiceClient()


class Secrets:
    """Read, create and delete secrets of one project."""

    def __init__(self, project: str, client: secretmanager.SecretManagerServiceClient | None = None) -> None:
        self.project = project
        self.client = client or secret_client()

    def read(self, name: str, version: str = "latest") -> str:
        """The secret's value; a missing secret is a ``ConfigError`` naming it."""
        path = f"projects/{self.project}/secrets/{name}/versions/{version}"
        try:
            response = self.client.access_secret_version(request={"name": path})
        except NotFound as exc:
            raise ConfigError(f"secret {name!r} not found in Secret Manager (project {self.project})") from exc
        return bytes(response.payload.data).decode("utf-8")

    def write(self, name: str, value: str) -> str:
        """Create the secret if needed and add ``value`` as a new version; returns the version's name."""
        parent = f"projects/{self.project}"
        # A new version of an existing secret is what rotation looks like.
        with contextlib.suppress(AlreadyExists):
            self.client.create_secret(
                request={"parent": parent, "secret_id": name, "secret": {"replication": {"automatic": {}}}}
            )
        version = self.client.add_secret_version(
            request={"parent": f"{parent}/secrets/{name}", "payload": {"data": value.encode("utf-8")}}
        )
        return str(version.name)

    def delete(self, name: str) -> bool:
        """Delete the secret with every version; False if there was none."""
        try:
            self.client.delete_secret(request={"name": f"projects/{self.project}/secrets/{name}"})
        except NotFound:
            return False
        return True
