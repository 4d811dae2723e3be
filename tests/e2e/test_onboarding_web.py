"""Onboarding in the browser against the served API, the local issuer and the real gateway VM supervisor (simulator
containers): an admin adds a gateway with its login and watches it log in, adds a follower on it, sees a Sunday 2FA
wait and its clearing; invites a viewer who chooses a password from the e-mail's link, signs in and reads, cannot
change anything, and is locked out once disabled. Screenshots go to ``out/e2e/``."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from e2e_support import shot, signed_in
from google.cloud import firestore
from playwright.sync_api import Browser, Page, expect

from gatewayvm.testing import GatewayVmProcess
from identity.testing import SessionServers
from spreadpilot import market_calendar
from spreadpilot.clock import CLOCK_ENV, NEW_YORK, SimClock
from stack.local_stack import LocalStack

INVITEE_PASSWORD = "Viewer-chose-this-1"


@pytest.fixture
def vm(clean_stack: LocalStack, tmp_path: Path) -> Iterator[GatewayVmProcess]:
    process = GatewayVmProcess(tmp_path / "vm", project=clean_stack.project, capacity=3, two_factor=["f02-own"])
    process.wait_ready()  # the admin API adds a gateway only to a VM that has reported
    yield process
    process.stop()


def add_gateway(page: Page, gateway_id: str, kind: str, accounts: str) -> None:
    page.click("a[href='/gateways']")
    page.click("a[href='/gateways/new']")
    page.fill("#g-id", gateway_id)
    page.select_option("#g-kind", kind)
    page.fill("#g-accounts", accounts)
    page.fill("#g-username", f"{gateway_id}_api")
    page.fill("#g-password", "gw-Pa55word")
    page.click("#gateway-form button[type=submit]")
    expect(page.locator("h1")).to_have_text(f"Gateway {gateway_id}")


def test_admin_adds_a_gateway_that_logs_in_and_a_follower_on_it_and_sees_a_2fa_wait_clear(
    clean_stack: LocalStack, web_app: str, browser: Browser, vm: GatewayVmProcess, firestore_db: firestore.Client
) -> None:
    page = signed_in(browser, web_app)
    add_gateway(page, "adv", "advisor", "DU001, DU002")
    expect(page.locator("#gateway-state")).to_contain_text("logged in", timeout=30_000)
    assert "gw-Pa55word" not in page.content()
    shot(page, "20-gateway-logged-in")

    page.click("a[href='/followers']")
    page.click("a[href='/followers/new']")
    for field, value in (("id", "f01"), ("name", "Anna Rossi"), ("email", "anna@example.com"),
                         ("iban", "IT60X0542811101000000123456"), ("commission_pct", "20"), ("gateway_id", "adv"),
                         ("ibkr_account", "DU002")):
        page.fill(f"#f-{field}", value)
    page.click("#follower-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Anna Rossi (f01)")
    shot(page, "21-follower-on-gateway")

    add_gateway(page, "f02-own", "follower", "DU003")
    page.click("a[href='/gateways']")
    expect(page.locator("[data-2fa='f02-own']")).to_contain_text("IBKR Mobile", timeout=30_000)
    expect(page.locator("[data-state='f02-own']")).to_have_text("waiting for 2FA")
    shot(page, "22-gateway-waiting-for-2fa")
    vm.approve("f02-own")
    expect(page.locator("[data-state='f02-own']")).to_have_text("logged in", timeout=30_000)
    expect(page.locator("[data-2fa='f02-own']")).to_have_count(0)
    expect(page.locator("[data-capacity='local']")).to_have_text("2 of 3")
    shot(page, "23-2fa-cleared")
    assert firestore_db.collection("followers").document("f01").get().to_dict()["gateway_id"] == "adv"


def test_an_invited_viewer_signs_in_reads_changes_nothing_and_is_locked_out_once_disabled(
    clean_stack: LocalStack, web_app: str, browser: Browser
) -> None:
    email = f"viewer-{uuid.uuid4().hex[:6]}@example.com"
    admin = signed_in(browser, web_app)
    admin.click("a[href='/operators']")
    admin.fill("#invite-email", email)
    admin.select_option("#invite-role", "viewer")
    admin.click("#invite-form button[type=submit]")
    expect(admin.locator("#flash")).to_contain_text(f"{email} invited as viewer")
    shot(admin, "24-operator-invited")

    issuer = SessionServers.issuer_for(clean_stack.project).base_url
    codes = requests.get(f"{issuer}/emulator/v1/projects/{clean_stack.project}/oobCodes", timeout=10).json()
    [link] = [c["oobLink"] for c in codes["oobCodes"] if c["email"] == email]
    invitee = browser.new_page()
    invitee.goto(link)
    invitee.fill("#new-password", INVITEE_PASSWORD)
    invitee.click("#reset-form button[type=submit]")
    expect(invitee.locator("#reset-result")).to_have_text("Password saved: you can sign in now.")

    invitee.goto(web_app + "/signin")
    invitee.fill("#email", email)
    invitee.fill("#password", INVITEE_PASSWORD)
    invitee.click("#signin-form button[type=submit]")
    expect(invitee.locator("h1")).to_have_text("Dashboard")
    expect(invitee.locator("#who")).to_contain_text(f"{email} · viewer")
    invitee.click("a[href='/operators']")
    expect(invitee.locator(f"[data-toggle-access='{email}']")).to_be_disabled()
    expect(invitee.locator("#invite-form")).to_have_count(0)
    shot(invitee, "25-viewer-reads")

    admin.reload()
    admin.once("dialog", lambda dialog: dialog.accept())
    admin.click(f"[data-toggle-access='{email}']")
    expect(admin.locator("#flash")).to_contain_text(f"{email} disabled")

    invitee.click("a[href='/followers']")
    expect(invitee.locator("h1")).to_have_text("Sign in", timeout=15_000)
    invitee.fill("#email", email)
    invitee.fill("#password", INVITEE_PASSWORD)
    invitee.click("#signin-form button[type=submit]")
    expect(invitee.locator("#signin-error")).to_contain_text("user-disabled")
    shot(invitee, "26-viewer-locked-out")


def _last_trading_morning() -> datetime:
    """11:00 New York on the last trading day before today: the trading day's busy hours, in the past of the admin
    API's own (real) clock, so an approval given now comes after the hang began."""
    day = datetime.now(NEW_YORK).date() - timedelta(days=1)
    while not market_calendar.is_trading_day(day):
        day -= timedelta(days=1)
    return datetime.combine(day, datetime.min.time().replace(hour=11), NEW_YORK)


def test_an_admin_approves_restarting_a_gateway_hung_during_the_trading_day_and_it_logs_in_again(
    clean_stack: LocalStack, web_app: str, browser: Browser, tmp_path: Path
) -> None:
    clock = SimClock(_last_trading_morning(), 1.0, time.time())
    vm = GatewayVmProcess(tmp_path / "vm-busy", project=clean_stack.project, capacity=2,
                          env={CLOCK_ENV: clock.spec()}, hung_restart_after_s=2.0)
    vm.wait_ready()
    try:
        page = signed_in(browser, web_app)
        add_gateway(page, "adv-hung", "advisor", "DU001")
        state = page.locator("#gateway-state .badge")
        expect(state).to_have_text("logged in", timeout=30_000)
        vm.hang("adv-hung")
        expect(page.locator("#gateway-detail")).to_contain_text("approve a restart in the web app", timeout=30_000)
        shot(page, "24-gateway-hung-asks-for-a-restart")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#gateway-restart")
        expect(page.locator(".flash")).to_contain_text("Restart of adv-hung approved")
        expect(state).to_have_text("starting")  # hung: IBC logged in, the API silent
        expect(state).to_have_text("logged in", timeout=30_000)  # restarted: the API answers again
        shot(page, "25-gateway-restarted")
        assert '"why": "approved by admin@spreadpilot.local"' in vm.log()
    finally:
        vm.stop()
