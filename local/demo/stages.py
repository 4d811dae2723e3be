"""The demo's stages: which parts of SpreadPilot exist, and how each one fared on the simulated day."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

NOT_BUILT = "not built"
RUNNING = "running"
OK = "ok"
FAILED = "failed"
IDLE = "idle"


@dataclass
class Stage:
    key: str
    title: str
    built: bool
    status: str = IDLE
    detail: str = ""

    def fail(self, detail: str) -> None:
        """Mark the stage failed with the reason."""
        self.status, self.detail = FAILED, detail

    def succeed(self, detail: str = "") -> None:
        """Mark the stage done (unless it failed already)."""
        if self.status != FAILED:
            self.status, self.detail = OK, detail or self.detail


def discover_stages(root: Path) -> dict[str, Stage]:
    """Every stage of the day, marked built when its code exists in this checkout."""

    def exists(*parts: str) -> bool:
        return root.joinpath(*parts).is_file()

    stages = [
        Stage("stack", "local stack (Firestore, Pub/Sub, Secret Manager, Sheets, SendGrid/Telegram)", True),
        Stage("ibsim", "IB Gateway simulator (TWS protocol)", exists("local", "ibsim", "__main__.py")),
        Stage("signal_poller", "signal poller (sheet → signals)", exists("functions", "signal_poller", "main.py")),
        Stage("executor", "order executor (signals → IBKR)", exists("gateway-vm", "executor", "__main__.py")),
        Stage(
            "monitor",
            "position monitor (exits, assignment, MTM)",
            exists("gateway-vm", "executor", "monitor.py")
            or exists("gateway-vm", "executor", "lifecycle", "__init__.py"),
        ),
        Stage("alert_router", "alert router (Telegram + email)", exists("functions", "alert_router", "main.py")),
        Stage("watchdog", "watchdog (dead-man's switch)", exists("functions", "watchdog", "main.py")),
        Stage("telegram_bot", "Telegram operator bot", exists("functions", "telegram_bot", "main.py")),
        Stage("pnl", "P&L rollups (daily, monthly)", exists("functions", "pnl", "main.py")),
        Stage("reports", "statements (PDF + XLSX, emailed)", exists("functions", "reports", "main.py")),
        Stage("admin_api", "admin API + web app", exists("functions", "admin_api", "main.py")),
    ]
    for stage in stages:
        if not stage.built:
            stage.status = NOT_BUILT
    return {stage.key: stage for stage in stages}
