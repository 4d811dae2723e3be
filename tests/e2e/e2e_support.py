"""Helpers of the browser tests: screenshots kept under out/e2e (CI keeps them as artifacts), signing in."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from identity.server import LOCAL_PASSWORD

SHOTS = Path(__file__).resolve().parents[2] / "out" / "e2e"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def shot(page: Page, name: str) -> None:
    """A full-page screenshot ``out/e2e/<name>.png``."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def signed_in(browser: Browser, web_app: str, email: str = "admin@spreadpilot.local", *, phone: bool = False) -> Page:
    """A new browser context signed in as ``email`` on the dashboard."""
    page = browser.new_page(viewport=PHONE if phone else DESKTOP, is_mobile=phone)
    page.goto(web_app + "/signin")
    page.fill("#email", email)
    page.fill("#password", LOCAL_PASSWORD)
    page.click("#signin-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Dashboard")
    return page
