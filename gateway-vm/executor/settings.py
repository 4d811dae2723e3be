"""The executor's settings, read once from ``SPREADPILOT_*`` environment variables in the entry point.

Every business number of the entry (window, minimum credit, ladder) is a setting with DESIGN.md's default.
Durations named ``*_s`` are business seconds (they shrink with a simulated clock) unless they say "real seconds".
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from enum import StrEnum

from pydantic import Field, model_validator

from spreadpilot.settings import TICKERS_PATTERN, CommonSettings, ticker_set


class MarginMode(StrEnum):
    """What to do when the what-if margin of an order does not fit the account."""

    SKIP = "skip"
    REDUCE = "reduce"


# Underlyings with options expiring every trading day (0-DTE on any day); an allowed ticker must be one of them.
DAILY_EXPIRY_UNDERLYINGS = frozenset({"QQQ", "SPY", "IWM"})


class ExecutorSettings(CommonSettings):
    """Settings of ``python -m executor`` (env prefix ``SPREADPILOT_``)."""

    signals_subscription: str = Field(
        default="executor-signals", description="Pub/Sub pull subscription of the signals topic"
    )
    alerts_topic: str = Field(default="alerts", description="topic the executor publishes AlertMessage to")
    entry_start: time = Field(default=time(9, 30), description="first New York time a new entry may be placed")
    entry_end: time = Field(default=time(10, 30), description="last New York time a new entry may be placed")
    min_credit: Decimal = Field(default=Decimal("0.70"), description="minimum spread mid credit; also the ladder floor")
    ladder_step_s: float = Field(default=5.0, gt=0, description="business seconds between two ladder concessions")
    ladder_tick: Decimal = Field(default=Decimal("0.01"), gt=0, description="credit conceded at each ladder step")
    ladder_max_steps: int = Field(default=10, ge=0, description="concessions before the remainder is cancelled")
    margin_mode: MarginMode = Field(
        default=MarginMode.SKIP, description="'skip' or 'reduce' an order whose what-if margin does not fit"
    )
    what_if: bool = Field(
        default=True,
        description="check margin before each entry: locally from account values, with a broker what-if only when "
                    "the answer is within margin_band_pct or the account holds other positions",
    )
    margin_band_pct: Decimal = Field(
        default=Decimal(10), ge=0, le=100,
        description="a local margin answer this close (percent) to the available funds is asked of the broker",
    )
    ack_timeout_s: float = Field(default=10.0, gt=0, description="real seconds to wait for an order acknowledgement")
    connect_timeout_s: float = Field(default=10.0, gt=0, description="real seconds for one connection attempt")
    reconnect_min_s: float = Field(default=0.5, gt=0, description="first reconnect backoff, real seconds")
    reconnect_max_s: float = Field(default=15.0, gt=0, description="longest reconnect backoff, real seconds")
    down_alert_s: float = Field(default=30.0, gt=0, description="business seconds a gateway is down before an alert")
    farm_restart_after_s: float = Field(
        default=300.0, gt=0, description="business seconds a data farm may stay broken (2103/2105/2157) before the "
        "gateway's restart is asked of its supervisor")
    heartbeat_s: float = Field(default=15.0, gt=0, description="business seconds between heartbeat writes")
    io_threads: int = Field(default=64, ge=4, le=512, description="thread pool for Firestore/Pub/Sub calls (plus a "
                            "quarter as many for the writes of orders on their way)")
    max_signal_messages: int = Field(default=4, ge=1, description="signal messages handled at once")
    version: str = Field(default="0.1.0", description="reported in the heartbeat")
    allowed_tickers: str = Field(
        default="QQQ", pattern=TICKERS_PATTERN,
        description="underlyings the executor trades and follows through the day (the poller's allowlist); each "
                    "must list daily expiries: QQQ, SPY or IWM",
    )
    leases: bool = Field(
        default=True, description="hold a Firestore lease per gateway, so several executor processes split them"
    )
    executor_id: str = Field(
        default="", description="this executor's name on gateway leases (default: the host name; the pid is added)"
    )
    ibc_restart: time = Field(
        default=time(23, 45), description="New York time IBC restarts the gateway daily (an outage then is not paged)"
    )
    ibc_restart_minutes: int = Field(default=10, ge=1, le=120, description="how long IBC's daily restart may take")
    lease_ttl_s: float = Field(default=30.0, gt=1, description="real seconds a gateway lease lasts unless renewed")
    adopt_s: float = Field(
        default=30.0, gt=0, description="business seconds between passes that adopt open intents nobody runs"
    )
    gateways_poll_s: float = Field(
        default=30.0, gt=0,
        description="real seconds between reads of gateways/* (a gateway added, removed or re-pointed in the web app "
                    "is connected or let go without a restart)",
    )
    ledger_sweep_s: float = Field(
        default=30.0, gt=0,
        description="business seconds between execution sweeps when an execution or commission may be missing",
    )
    ledger_full_sweep_s: float = Field(
        default=900.0, gt=0, description="business seconds between execution sweeps in any case"
    )
    ledger_retry_s: float = Field(default=2.0, gt=0, description="business seconds between retries of a fill write")
    store_retry_s: float = Field(
        default=1.0, gt=0, description="business seconds before an entry retries after a Firestore error"
    )
    market_retry_s: float = Field(
        default=2.0, gt=0, description="business seconds before an entry asks again for a timed-out quote or what-if"
    )
    market_attempts: int = Field(
        default=5, ge=1, description="quote/what-if attempts before an entry is skipped for lack of market data"
    )

    @property
    def tickers(self) -> frozenset[str]:
        """The allowed underlyings, upper-case."""
        return ticker_set(self.allowed_tickers)

    @model_validator(mode="after")
    def _tickers_supported(self) -> ExecutorSettings:
        unsupported = sorted(self.tickers - DAILY_EXPIRY_UNDERLYINGS)
        if unsupported:
            raise ValueError(f"SPREADPILOT_ALLOWED_TICKERS: {', '.join(unsupported)} has no daily (0-DTE) expiries; "
                             f"supported: {', '.join(sorted(DAILY_EXPIRY_UNDERLYINGS))}")
        return self
