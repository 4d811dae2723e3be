"""The web app served beside the admin API on the local stack, and the system's headless Chromium."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from identity.testing import SessionServers
from identity.webserve import WebConfig, WebServer
from stack.local_stack import FIRESTORE_EMULATOR_HOST, LocalStack

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def web_app(stack: LocalStack, serve_function: Callable[..., str]) -> Iterator[str]:
    api_url = serve_function("admin_api", SessionServers.admin_api_env(stack.project))
    issuer = SessionServers.issuer_for(stack.project)
    port = int(SessionServers.web_origin().rsplit(":", 1)[1])
    config = WebConfig(api_url, issuer.sign_in_url, stack.project, issuer.emulator_url,
                       stack.env[FIRESTORE_EMULATOR_HOST])
    with WebServer(ROOT / "web", config, port=port) as server:
        yield server.base_url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope, never session (and not "package": this folder is no package, so that would mean the session):
    # while sync_playwright is open its event loop counts as running in the main thread, so every later test that
    # calls asyncio.run (ib_async clients, the fault simulator) would fail.
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)", pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


