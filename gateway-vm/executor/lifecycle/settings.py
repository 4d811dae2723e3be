"""Settings of the lifecycle loops, read once from ``SPREADPILOT_*`` environment variables in the entry point.

Durations named ``*_s`` are business seconds (they shrink with a simulated clock) unless they say "real seconds".
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from spreadpilot.settings import CommonSettings


class Compensation(StrEnum):
    """How an assignment is repaired."""

    EXERCISE = "exercise"  # exercise the long leg when it is in the money, else sell/buy the stock
    FLATTEN = "flatten"  # always sell/buy the assigned stock; the long leg is then closed as an orphan


class LifecycleSettings(CommonSettings):
    """Settings of the executor's position monitor, MTM, breaker and command handling (env prefix SPREADPILOT_)."""

    lifecycle_enabled: bool = Field(
        default=True, description="run the position monitor, MTM, breaker and command handling with the executor")
    commands_subscription: str = Field(
        default="executor-commands", description="Pub/Sub pull subscription of the commands topic")
    monitor_s: float = Field(default=60.0, gt=0, description="business seconds between two position passes")
    time_value_exit: Decimal = Field(
        default=Decimal("0.10"), ge=0,
        description="close the whole spread once the short leg's time value is at most this (per share)")
    near_money: Decimal = Field(
        default=Decimal("1.00"), ge=0,
        description="the short leg counts as 'near the money' within this distance of the underlying, in $")
    pin_close_at: time = Field(
        default=time(15, 55),
        description="New York time of the pin-risk close on a regular day (on a half day as much earlier as the close)")
    pin_distance: Decimal = Field(
        default=Decimal("1.00"), ge=0,
        description="at pin_close_at, close spreads whose short strike is within this of the underlying, in $")
    post_expiry_check_at: time = Field(
        default=time(15, 30),
        description="from this NY time (12:30 on a half day) a spread is closed if the account's post-expiration "
                    "excess is negative, before IBKR's own expiration liquidation; read from 15 minutes before")
    session_close_at: time = Field(
        default=time(16, 0),
        description="no exit is sent at or after this NY time on a regular day (13:00 on a half day)")
    exit_limit_slack: Decimal = Field(
        default=Decimal("0.02"), ge=0, description="$ beyond the far side of the quote for a marketable exit limit")
    exit_market_after_s: float = Field(
        default=10.0, gt=0, description="business seconds an exit limit may rest before it becomes a market order")
    exit_done_timeout_s: float = Field(
        default=60.0, gt=0, description="business seconds to wait for a market exit to finish before alerting")
    compensation: Compensation = Field(
        default=Compensation.EXERCISE,
        description="'exercise' the long leg on assignment when it is in the money by exercise_min_itm (else the "
                    "stock is sold), or always 'flatten' the stock")
    exercise_min_itm: Decimal = Field(
        default=Decimal("0.01"), gt=0,
        description="the long leg is exercised only when in the money by at least this, in $ (OCC's threshold)")
    stock_limit_slack: Decimal = Field(
        default=Decimal("0.05"), ge=0,
        description="$ beyond the QQQ mid for the marketable limit that sells (or buys back) assigned stock")
    exercise_exchange: str = Field(
        default="CBOE", description="listing exchange exerciseOptions is sent to (IB refuses SMART)")
    compensation_retry_s: float = Field(
        default=300.0, gt=0,
        description="business seconds before an unfinished stock sale of a compensation is tried again (an "
                    "exercise is never repeated: it is followed until the stock is gone, the next morning at most)")
    mtm_s: float = Field(default=30.0, gt=0, description="business seconds between two MTM passes")
    mtm_max_silence_s: float = Field(
        default=300.0, gt=0,
        description="an unchanged P&L is written again after this many business seconds (writes are throttled)")
    breaker_flatten: bool = Field(
        default=False, description="when a follower's daily-loss breaker trips, also close its positions")
    flatten_confirm_ttl_s: float = Field(
        default=300.0, gt=0, description="business seconds a flatten_request's confirm code stays valid")
    max_command_messages: int = Field(default=4, ge=1, description="command messages handled at once")
    action_attempts: int = Field(
        default=6, ge=1,
        description="attempts at each part of an operator action (one follower's flatten, one kill switch) before "
                    "the action ends 'partly done' or 'failed' with a CRITICAL alert naming what is left")
    action_retry_s: float = Field(
        default=5.0, gt=0, description="business seconds before a failed part of an operator action is tried "
                                       "again (doubling, at most 12 times this)")
    flatten_entry_wait_s: float = Field(
        default=30.0, gt=0,
        description="business seconds a flatten waits for a follower's cancelled entries to end before it retries")
    flatten_settle_s: float = Field(
        default=2.0, ge=0,
        description="business seconds a flatten waits after its last order ended before it confirms the account "
                    "flat (positions arrive apart from fills)")
