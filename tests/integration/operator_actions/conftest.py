"""Fixtures of the operator-action tests that cross front ends: the admin API and the Telegram bot, both served by
functions-framework on the local stack (the admin API with the local token issuer)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from front_ends import BOT_ENV, AdminClient, Webhook

from identity.testing import SessionServers, TokenFactory
from stack.local_stack import LocalStack


@pytest.fixture(scope="session")
def tokens(stack: LocalStack) -> TokenFactory:
    return TokenFactory(SessionServers.issuer_for(stack.project).issuer)


@pytest.fixture
def admin(clean_stack: LocalStack, serve_function: Callable[..., str], tokens: TokenFactory) -> AdminClient:
    url = serve_function("admin_api", SessionServers.admin_api_env(clean_stack.project))
    return AdminClient(url, SessionServers.web_origin(), tokens.valid("admin"))


@pytest.fixture
def webhook(clean_stack: LocalStack, serve_function: Callable[..., str]) -> Webhook:
    return Webhook(serve_function("telegram_bot", BOT_ENV) + "/")
