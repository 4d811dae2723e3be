"""Fixtures for the admin API served by functions-framework on the local stack, with the local token issuer."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from admin_harness import AdminClient

from identity.testing import SessionServers, TokenFactory
from stack.local_stack import LocalStack


@pytest.fixture(scope="session")
def tokens(stack: LocalStack) -> TokenFactory:
    return TokenFactory(SessionServers.issuer_for(stack.project).issuer)


@pytest.fixture(scope="session")
def admin_api_url(stack: LocalStack, serve_function: Callable[..., str]) -> str:
    return serve_function("admin_api", SessionServers.admin_api_env(stack.project))


@pytest.fixture
def admin(clean_stack: LocalStack, admin_api_url: str, tokens: TokenFactory) -> AdminClient:
    return AdminClient(admin_api_url, SessionServers.web_origin(), tokens.valid("admin"))


@pytest.fixture
def viewer(admin: AdminClient, tokens: TokenFactory) -> AdminClient:
    return AdminClient(admin.base_url, admin.origin, tokens.valid("viewer", "viewer@spreadpilot.local"))
