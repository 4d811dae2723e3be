"""The signal poller's settings: read once in the entry point from ``SPREADPILOT_*`` environment variables."""

from __future__ import annotations

from datetime import time

from pydantic import Field, SecretStr

from spreadpilot.settings import TICKERS_PATTERN, CommonSettings, ticker_set


class PollerSettings(CommonSettings):
    """Where the strategist's sheet is, and when and how often to read it (market times are America/New_York)."""

    sheet_id: str = Field(
        min_length=1, description="SPREADPILOT_SHEET_ID: the signal spreadsheet's key (the id in its URL)"
    )
    sheet_tab: str = Field(default="Sheet1", min_length=1, description="SPREADPILOT_SHEET_TAB: the tab to read")
    poll_interval_s: float = Field(
        default=2.0, gt=0, le=60, description="SPREADPILOT_POLL_INTERVAL_S: business seconds between two reads"
    )
    invocation_budget_s: float = Field(
        default=55.0,
        gt=0,
        le=540,
        description="SPREADPILOT_INVOCATION_BUDGET_S: business seconds one tick may poll (Scheduler ticks each minute)",
    )
    poll_start: time = Field(default=time(9, 27), description="SPREADPILOT_POLL_START: first poll, ET")
    alert_if_none_at: time = Field(
        default=time(9, 35), description="SPREADPILOT_ALERT_IF_NONE_AT: WARNING if no valid row by then, ET"
    )
    cutoff: time = Field(default=time(10, 30), description="SPREADPILOT_CUTOFF: no new signal after this, ET")
    allowed_tickers: str = Field(
        default="QQQ", pattern=TICKERS_PATTERN,
        description="SPREADPILOT_ALLOWED_TICKERS: comma-separated ticker allowlist",
    )
    header_search_rows: int = Field(
        default=10, ge=1, le=100, description="SPREADPILOT_HEADER_SEARCH_ROWS: the header is looked for in these rows"
    )
    quota_backoff_s: float = Field(
        default=5.0, gt=0, le=60, description="SPREADPILOT_QUOTA_BACKOFF_S: first wait after a 429 (doubles each time)"
    )
    quota_backoff_max_s: float = Field(
        default=30.0, gt=0, le=300, description="SPREADPILOT_QUOTA_BACKOFF_MAX_S: longest wait after repeated 429s"
    )
    quota_alert_after: int = Field(
        default=3, ge=1, le=100,
        description="SPREADPILOT_QUOTA_ALERT_AFTER: consecutive 429s that raise the 'quota persists' WARNING",
    )
    sheets_service_account_json: SecretStr = Field(
        default=SecretStr(""),
        description=(
            "SPREADPILOT_SHEETS_SERVICE_ACCOUNT_JSON: service-account key JSON for the Sheets API, injected from the "
            "Secret Manager secret 'sheets-service-account'; unused when SHEETS_API_URL points at the local fake"
        ),
    )

    @property
    def tickers(self) -> frozenset[str]:
        """The allowlist, upper-case."""
        return ticker_set(self.allowed_tickers)
