"""The official Secret Manager client reads secrets created in the fake over an insecure channel (as the project
owner, the identity the stack gives the test process; per-identity permissions: tests/integration/infra)."""

from __future__ import annotations

import pytest
from google.api_core.exceptions import AlreadyExists, NotFound
from google.cloud import secretmanager

from spreadpilot.secrets import secret_client
from stack import LocalStack


@pytest.fixture
def client(stack: LocalStack) -> secretmanager.SecretManagerServiceClient:
    return secret_client()


def test_client_reads_the_latest_and_a_numbered_version(
    stack: LocalStack, client: secretmanager.SecretManagerServiceClient
) -> None:
    parent = f"projects/{stack.project}"
    client.create_secret(
        request={"parent": parent, "secret_id": "sendgrid-api-key", "secret": {"replication": {"automatic": {}}}}
    )
    secret = f"{parent}/secrets/sendgrid-api-key"
    client.add_secret_version(request={"parent": secret, "payload": {"data": b"SG.one"}})
    client.add_secret_version(request={"parent": secret, "payload": {"data": b"SG.two"}})

    latest = client.access_secret_version(request={"name": f"{secret}/versions/latest"})
    first = client.access_secret_version(request={"name": f"{secret}/versions/1"})

    assert latest.payload.data == b"SG.two"
    assert latest.name == f"{secret}/versions/2"
    assert first.payload.data == b"SG.one"
    assert client.get_secret(request={"name": secret}).name == secret
    assert secret in [s.name for s in client.list_secrets(request={"parent": parent})]


def test_missing_secret_is_not_found_and_duplicates_already_exist(
    stack: LocalStack, client: secretmanager.SecretManagerServiceClient
) -> None:
    parent = f"projects/{stack.project}"
    client.create_secret(request={"parent": parent, "secret_id": "twice", "secret": {}})

    with pytest.raises(AlreadyExists):
        client.create_secret(request={"parent": parent, "secret_id": "twice", "secret": {}})
    with pytest.raises(NotFound):
        client.access_secret_version(request={"name": f"{parent}/secrets/absent/versions/latest"})
    client.delete_secret(request={"name": f"{parent}/secrets/twice"})
    with pytest.raises(NotFound):
        client.get_secret(request={"name": f"{parent}/secrets/twice"})
