"""How an alert reads on Telegram and in an email, with deep links into the admin web app."""

from __future__ import annotations

from spreadpilot.clock import new_york
from spreadpilot.models import Alert, Severity

_MARK = {Severity.CRITICAL: "🔴", Severity.WARNING: "🟠", Severity.INFO: "🔵"}
TELEGRAM_LIMIT = 4096


def deep_links(alert: Alert, web_base_url: str) -> tuple[str, ...]:
    """Links to the alert's subjects in the web app: order, then signal, then follower."""
    base = web_base_url.rstrip("/")
    links = []
    if alert.order_ref:
        links.append(f"{base}/orders/{alert.order_ref}")
    if alert.signal_id:
        links.append(f"{base}/signals/{alert.signal_id}")
    if alert.follower_id:
        links.append(f"{base}/followers/{alert.follower_id}")
    return tuple(links)


def alert_text(alert: Alert, web_base_url: str, suppressed_before: int = 0) -> str:
    """The plain-text body sent on every channel."""
    lines = [f"{_MARK[alert.severity]} {alert.severity} · {alert.type}", alert.message]
    subjects = [
        f"{name} {value}"
        for name, value in (("follower", alert.follower_id), ("signal", alert.signal_id), ("order", alert.order_ref))
        if value
    ]
    if subjects:
        lines.append(" · ".join(subjects))
    lines.extend(f"{key}: {value}" for key, value in sorted(alert.context.items()))
    lines.extend(deep_links(alert, web_base_url))
    if suppressed_before:
        lines.append(f"({suppressed_before} identical alert(s) were collapsed into the previous notice)")
    lines.append(f"{new_york(alert.at):%Y-%m-%d %H:%M:%S} ET · {alert.source} · alert {alert.alert_id}")
    text = "\n".join(lines)
    return text if len(text) <= TELEGRAM_LIMIT else text[: TELEGRAM_LIMIT - 1] + "…"


def email_subject(alert: Alert) -> str:
    """A short subject line: severity, type and the first line of the message."""
    first_line = alert.message.splitlines()[0]
    subject = f"[SpreadPilot {alert.severity}] {alert.type}: {first_line}"
    return subject if len(subject) <= 150 else subject[:149] + "…"
