"""Fixtures for the admin API served by functions-framework on the local stack, with the local token issuer."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from admin_harness import AdminClient
from google.cloud import firestore

from identity.testing import SessionServers, TokenFactory
from spreadpilot.models import Gateway
from spreadpilot.store import Store
from stack.local_stack import LocalStack


@pytest.fixture(scope="session")
def tokens(stack: LocalStack) -> TokenFactory:
    return TokenFactory(SessionServers.issuer_for(stack.project).issuer)


@pytest.fixture
def admin_api_url(stack: LocalStack, serve_function: Callable[..., str]) -> str:
    # per test, not per session: a test that serves the API on a simulated clock restarts it, and the next test
    # gets it back as every other test knows it (an unchanged server is reused at once)
    return serve_function("admin_api", SessionServers.admin_api_env(stack.project))


@pytest.fixture
def admin(clean_stack: LocalStack, admin_api_url: str, tokens: TokenFactory) -> AdminClient:
    # Followers must name an existing gateway: gw1 is one started by hand (no VM, serves any account).
    Store(firestore.Client(project=clean_stack.project)).gateways.put(Gateway(id="gw1", port=4002, client_id=1))
    return AdminClient(admin_api_url, SessionServers.web_origin(), tokens.valid("admin"))


@pytest.fixture
def viewer(admin: AdminClient, tokens: TokenFactory) -> AdminClient:
    return AdminClient(admin.base_url, admin.origin, tokens.valid("viewer", "viewer@spreadpilot.local"))
