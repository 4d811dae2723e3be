"""What every route handler gets: the adapters, the settings, and id/code generators."""

from __future__ import annotations

import secrets
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from admin_api.auth import TokenVerifier
from admin_api.http import Call
from admin_api.identity_platform import OperatorDirectory
from admin_api.settings import AdminSettings
from spreadpilot.events import EventSink
from spreadpilot.publisher import Publisher
from spreadpilot.store import Store

CODE_ALPHABET = string.ascii_uppercase + string.digits


class SecretWriter(Protocol):
    """Writes and deletes secrets (Secret Manager); the API never reads one back."""

    def write(self, name: str, value: str) -> str:
        """Store ``value`` as the newest version of secret ``name``; returns the version name."""
        ...

    def delete(self, name: str) -> bool:
        """Delete secret ``name``; False if there was none."""
        ...


class StatementLinks(Protocol):
    """Turns a statement file's stored path into a download link."""

    def link(self, statement_id: str, kind: str, path: str) -> dict[str, object]:
        """``{"url": ..., "auth": bool}``; ``auth`` means the URL needs the caller's bearer token."""
        ...


def new_command_id() -> str:
    return uuid.uuid4().hex[:20]


def new_confirm_code() -> str:
    """An 8-character code a person can read back (A-Z, 0-9)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


@dataclass(frozen=True)
class Deps:
    store: Store
    publisher: Publisher
    secrets: SecretWriter
    verifier: TokenVerifier
    links: StatementLinks
    settings: AdminSettings
    events: EventSink
    directory: OperatorDirectory | None = None  # operators' sign-in accounts (Identity Platform)
    new_id: Callable[[], str] = field(default=new_command_id)
    new_code: Callable[[], str] = field(default=new_confirm_code)


Handler = Callable[[Deps, Call], object]


@dataclass(frozen=True)
class Route:
    """``method path`` → handler; ``changes`` routes need the admin role. Paths use ``{name}`` parameters."""

    method: str
    path: str
    handler: Handler
    summary: str
    changes: bool = False
    body: str = ""  # name of the request body schema in the OpenAPI document
