"""A gRPC fake of Google Secret Manager (``google.cloud.secretmanager.v1.SecretManagerService``).

Serves the methods SpreadPilot uses — CreateSecret, AddSecretVersion, AccessSecretVersion (incl. ``latest``),
GetSecret, GetSecretVersion, ListSecrets, ListSecretVersions, DeleteSecret — from memory, using the request and
response messages shipped in ``google-cloud-secret-manager``, so the official ``SecretManagerServiceClient`` talks to
it over an insecure channel::

    channel = grpc.insecure_channel("127.0.0.1:PORT")
    client = SecretManagerServiceClient(transport=SecretManagerServiceGrpcTransport(channel=channel))

Run: ``python -m fakes.secret_manager --host 127.0.0.1 --port P --terraform terraform --owner EMAIL``. Tests seed
secrets through the client itself.

Permissions, as production checks them: every call must carry ``authorization: Bearer <identity>`` (what
``spreadpilot.secrets`` sends from ``LOCAL_IDENTITY``; Google's client sends an access token), else
``UNAUTHENTICATED``. The identity is a service account of ``terraform/iam.tf`` (``fn-<function>@…``,
``gateway-vm@…``) or one of the ``--owner`` identities (the person who deploys and adds secret values). Each RPC
needs the permission Google documents for it (``secretmanager.versions.access`` to read, ``secrets.create`` on the
project to create, …) on its resource, with the grants and IAM conditions of ``iam.tf`` (``iamcheck.grants``);
without it the answer is ``PERMISSION_DENIED`` whether or not the secret exists, as Google answers. Without
``--terraform`` nothing is checked (the fake's own unit tests).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.cloud.secretmanager_v1.types import resources, service
from google.protobuf import empty_pb2, timestamp_pb2

from iamcheck.grants import Policy, policy_for, resource_of

SERVICE = "google.cloud.secretmanager.v1.SecretManagerService"
log = logging.getLogger("fakes.secret_manager")


def crc32c(data: bytes) -> int:
    """CRC32C (Castagnoli) of ``data``, as Secret Manager reports in ``payload.data_crc32c``."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def _now() -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.GetCurrentTime()
    return stamp


@dataclass
class _Secret:
    secret: resources.Secret
    versions: list[tuple[resources.SecretVersion, bytes]] = field(default_factory=list)


def caller(context: grpc.ServicerContext) -> str:
    """The identity of the call's bearer token, or ``UNAUTHENTICATED``."""
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and str(value).startswith("Bearer ") and str(value)[7:].strip():
            return str(value)[7:].strip()
    context.abort(grpc.StatusCode.UNAUTHENTICATED,
                  "Request had invalid authentication credentials. Expected OAuth 2 access token.")
    raise AssertionError("unreachable: abort raises")


class SecretStore:
    """The fake's state and its RPC implementations (thread-safe); ``policy`` None = every caller may do anything."""

    def __init__(self, policy: Policy | None = None) -> None:
        self._lock = threading.Lock()
        self._secrets: dict[str, _Secret] = {}
        self.policy = policy

    def _require(self, context: grpc.ServicerContext, permission: str, name: str) -> None:
        if self.policy is None:
            return
        identity = caller(context)
        if not self.policy.allows(identity, permission, resource_of(name)):
            log.info("permission denied", extra={"identity": identity, "permission": permission, "resource": name})
            context.abort(grpc.StatusCode.PERMISSION_DENIED,
                          f"Permission '{permission}' denied for resource '{name}' (or it may not exist).")

    def _get(self, name: str, context: grpc.ServicerContext) -> _Secret:
        found = self._secrets.get(name)
        if found is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Secret [{name}] not found or has no versions.")
        return found  # type: ignore[return-value]  # abort() raises

    def create_secret(self, request: service.CreateSecretRequest, context: grpc.ServicerContext) -> resources.Secret:
        self._require(context, "secretmanager.secrets.create", request.parent)
        name = f"{request.parent}/secrets/{request.secret_id}"
        with self._lock:
            if name in self._secrets:
                context.abort(grpc.StatusCode.ALREADY_EXISTS, f"Secret [{name}] already exists.")
            secret = resources.Secret(request.secret)
            secret.name = name
            secret.create_time = _now()
            self._secrets[name] = _Secret(secret=secret)
            return secret

    def add_secret_version(
        self, request: service.AddSecretVersionRequest, context: grpc.ServicerContext
    ) -> resources.SecretVersion:
        self._require(context, "secretmanager.versions.add", request.parent)
        with self._lock:
            entry = self._get(request.parent, context)
            number = len(entry.versions) + 1
            version = resources.SecretVersion(
                name=f"{request.parent}/versions/{number}",
                create_time=_now(),
                state=resources.SecretVersion.State.ENABLED,
            )
            entry.versions.append((version, bytes(request.payload.data)))
            return version

    def _version(self, name: str, context: grpc.ServicerContext) -> tuple[resources.SecretVersion, bytes]:
        secret_name, _, version_id = name.rpartition("/versions/")
        entry = self._get(secret_name, context)
        if not entry.versions:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Secret [{secret_name}] has no versions.")
        if version_id == "latest":
            return entry.versions[-1]
        if not version_id.isdigit() or not 1 <= int(version_id) <= len(entry.versions):
            context.abort(grpc.StatusCode.NOT_FOUND, f"Secret Version [{name}] not found.")
        return entry.versions[int(version_id) - 1]

    def access_secret_version(
        self, request: service.AccessSecretVersionRequest, context: grpc.ServicerContext
    ) -> service.AccessSecretVersionResponse:
        self._require(context, "secretmanager.versions.access", request.name)
        with self._lock:
            version, data = self._version(request.name, context)
        return service.AccessSecretVersionResponse(
            name=version.name, payload=resources.SecretPayload(data=data, data_crc32c=crc32c(data))
        )

    def get_secret_version(
        self, request: service.GetSecretVersionRequest, context: grpc.ServicerContext
    ) -> resources.SecretVersion:
        self._require(context, "secretmanager.versions.get", request.name)
        with self._lock:
            return self._version(request.name, context)[0]

    def get_secret(self, request: service.GetSecretRequest, context: grpc.ServicerContext) -> resources.Secret:
        self._require(context, "secretmanager.secrets.get", request.name)
        with self._lock:
            return self._get(request.name, context).secret

    def delete_secret(self, request: service.DeleteSecretRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self._require(context, "secretmanager.secrets.delete", request.name)
        with self._lock:
            self._get(request.name, context)
            del self._secrets[request.name]
        return empty_pb2.Empty()

    def list_secrets(
        self, request: service.ListSecretsRequest, context: grpc.ServicerContext
    ) -> service.ListSecretsResponse:
        self._require(context, "secretmanager.secrets.list", request.parent)
        prefix = f"{request.parent}/secrets/"
        with self._lock:
            found = [s.secret for name, s in sorted(self._secrets.items()) if name.startswith(prefix)]
        return service.ListSecretsResponse(secrets=found, total_size=len(found))

    def list_secret_versions(
        self, request: service.ListSecretVersionsRequest, context: grpc.ServicerContext
    ) -> service.ListSecretVersionsResponse:
        self._require(context, "secretmanager.versions.list", request.parent)
        with self._lock:
            versions = [v for v, _ in reversed(self._get(request.parent, context).versions)]
        return service.ListSecretVersionsResponse(versions=versions, total_size=len(versions))


def _unary(
    method: Callable[[Any, grpc.ServicerContext], Any], request_type: Any, response_serializer: Callable[[Any], bytes]
) -> grpc.RpcMethodHandler:
    return grpc.unary_unary_rpc_method_handler(
        method, request_deserializer=request_type.deserialize, response_serializer=response_serializer
    )


def handler(store: SecretStore) -> grpc.GenericRpcHandler:
    """The generic gRPC handler serving ``store`` under the real service name."""
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "CreateSecret": _unary(store.create_secret, service.CreateSecretRequest, resources.Secret.serialize),
            "AddSecretVersion": _unary(
                store.add_secret_version, service.AddSecretVersionRequest, resources.SecretVersion.serialize
            ),
            "AccessSecretVersion": _unary(
                store.access_secret_version,
                service.AccessSecretVersionRequest,
                service.AccessSecretVersionResponse.serialize,
            ),
            "GetSecretVersion": _unary(
                store.get_secret_version, service.GetSecretVersionRequest, resources.SecretVersion.serialize
            ),
            "GetSecret": _unary(store.get_secret, service.GetSecretRequest, resources.Secret.serialize),
            "DeleteSecret": _unary(store.delete_secret, service.DeleteSecretRequest, empty_pb2.Empty.SerializeToString),
            "ListSecrets": _unary(
                store.list_secrets, service.ListSecretsRequest, service.ListSecretsResponse.serialize
            ),
            "ListSecretVersions": _unary(
                store.list_secret_versions,
                service.ListSecretVersionsRequest,
                service.ListSecretVersionsResponse.serialize,
            ),
        },
    )


def make_server(host: str, port: int, policy: Policy | None = None) -> grpc.Server:
    """A started-but-not-yet-running gRPC server bound to ``host:port``, enforcing ``policy`` if given."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((handler(SecretStore(policy)),))
    if server.add_insecure_port(f"{host}:{port}") == 0:
        raise OSError(f"cannot bind {host}:{port}")
    return server


def main() -> None:
    """Command line: ``python -m fakes.secret_manager --host H --port P [--terraform DIR --project P --owner E]``."""
    parser = argparse.ArgumentParser(prog="python -m fakes.secret_manager")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--terraform", type=Path, help="enforce the grants of this terraform folder's iam.tf")
    parser.add_argument("--project", default="spreadpilot-local", help="project of the service accounts")
    parser.add_argument("--owner", action="append", default=[], help="an identity that may do anything")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    policy = policy_for(args.terraform, args.project, args.owner) if args.terraform else None
    server = make_server(args.host, args.port, policy)
    server.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log.info("secret manager fake listening on %s:%d", args.host, args.port)
    try:
        server.wait_for_termination()
    finally:
        server.stop(grace=0.5)


if __name__ == "__main__":
    main()
