"""Secret Manager access: the one home of every credential.

Seam: with ``SECRET_MANAGER_EMULATOR_HOST`` set (local stack only), the official client talks to the local fake
over an insecure channel.
"""

from __future__ import annotations

import contextlib
import os

import grpc
from google.api_core.exceptions import AlreadyExists, NotFound
from google.cloud import secretmanager
from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
    SecretManagerServiceGrpcTransport,
)

from spreadpilot.errors import ConfigError

EMULATOR_ENV = "SECRET_MANAGER_EMULATOR_HOST"


def secret_client() -> secretmanager.SecretManagerServiceClient:
    """The official client, pointed at the local fake when ``SECRET_MANAGER_EMULATOR_HOST`` is set."""
    host = os.environ.get(EMULATOR_ENV)
    if host:
        channel = grpc.insecure_channel(host)
        return secretmanager.SecretManagerServiceClient(transport=SecretManagerServiceGrpcTransport(channel=channel))
    return secretmanager.SecretManagerServiceClient()


class Secrets:
    """Read and create secrets of one project."""

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
