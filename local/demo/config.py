"""The settings each process of the demo gets: the local stack's endpoints, the shared simulated clock, and the
demo's own values for every component's settings (documented in README's settings table)."""

from __future__ import annotations

from pathlib import Path

SHEET_ID = "demo-signal-sheet"
SHEET_TAB = "Signals"
SHEET_HEADER = ["Data", "Ticker", "Strategia", "Quantità per Leg", "Buy Put", "Sell Put", "Sell Call", "Buy Call"]
TELEGRAM_TOKEN = "123456:demo-bot-token"
TELEGRAM_WEBHOOK_SECRET = "demo-webhook-secret"
OPERATOR_CHAT_ID = "100200300"
SENDGRID_KEY = "SG.demo-key"
ADMIN_EMAIL = "operators@spreadpilot.example.com"


def common_env(clock_spec: str, web_base_url: str) -> dict[str, str]:
    """Settings every SpreadPilot process of the demo shares."""
    return {
        "SPREADPILOT_CLOCK": clock_spec,
        "SPREADPILOT_WEB_BASE_URL": web_base_url,
        "SPREADPILOT_LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }


def staleness_s(speed: float, business_s: int) -> str:
    """A staleness limit for the demo: at N× speed one real second of machine hiccup is N business seconds, so
    limits meant for real time (heartbeat age, gateway down) get five real seconds of slack on top."""
    return str(int(business_s + 5 * speed))


def function_env(out_dir: Path, speed: float) -> dict[str, str]:
    """Settings of the Cloud Functions (secrets are env-injected in production too)."""
    return {
        "SPREADPILOT_WATCHDOG_HEARTBEAT_MAX_AGE_S": staleness_s(speed, 60),
        "SPREADPILOT_WATCHDOG_GATEWAY_CRITICAL_AFTER_S": staleness_s(speed, 30),
        # signal poller
        "SPREADPILOT_SHEET_ID": SHEET_ID,
        "SPREADPILOT_SHEET_TAB": SHEET_TAB,
        # alerts and the bot
        "SPREADPILOT_TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "SPREADPILOT_TELEGRAM_WEBHOOK_SECRET": TELEGRAM_WEBHOOK_SECRET,
        "SPREADPILOT_TELEGRAM_CHAT_IDS": OPERATOR_CHAT_ID,
        "SPREADPILOT_TELEGRAM_CHAT_ID": OPERATOR_CHAT_ID,
        "SPREADPILOT_TELEGRAM_ALLOWED_CHAT_IDS": OPERATOR_CHAT_ID,
        "SPREADPILOT_TELEGRAM_ALLOWED_USER_IDS": OPERATOR_CHAT_ID,
        "SPREADPILOT_ALERT_EMAIL_TO": ADMIN_EMAIL,
        # email and statements
        "SPREADPILOT_SENDGRID_API_KEY": SENDGRID_KEY,
        "SENDGRID_API_KEY": SENDGRID_KEY,
        "SPREADPILOT_EMAIL_FROM": "statements@spreadpilot.example.com",
        "SPREADPILOT_ADMIN_EMAIL": ADMIN_EMAIL,
        "SPREADPILOT_STATEMENTS_DIR": str(out_dir / "statements"),
    }


def auth_env(issuer_port: int) -> dict[str, str]:
    """The admin API verifies ID tokens against the local issuer's certificates (same code as production) and
    manages operators through the issuer's Identity Toolkit admin API (the seam of admin_api.identity_platform)."""
    cert_path = "robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
    return {"SPREADPILOT_AUTH_CERT_URL": f"http://127.0.0.1:{issuer_port}/{cert_path}",
            "IDENTITY_TOOLKIT_API_URL": f"http://127.0.0.1:{issuer_port}"}


def executor_env(subscription: str, speed: float) -> dict[str, str]:
    """Settings of the executor on the (simulated) gateway VM. Reconnect attempts at most a real second apart: at
    N× speed the production backoff's 15 real seconds would be N quarter-minutes of a day with the gateway down."""
    return {"SPREADPILOT_SIGNALS_SUBSCRIPTION": subscription, "SPREADPILOT_DOWN_ALERT_S": staleness_s(speed, 30),
            "SPREADPILOT_RECONNECT_MAX_S": "1"}
