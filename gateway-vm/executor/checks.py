"""Pre-trade checks of one entry: kill switches, entry window, minimum credit, what-if margin.

Each check is a pure function of its inputs and says why an entry must not go out (a reason string) or how many
spreads may (margin). The caller records a skip with the reason on the intent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from executor.broker import AccountState, Margin
from executor.settings import MarginMode
from executor.sizing import affordable_contracts
from spreadpilot.clock import new_york


@dataclass(frozen=True)
class Controls:
    """A persisted kill switch (``controls/global`` or ``controls/{follower_id}``); absent = not paused."""

    entries_paused: bool = False
    flatten_pending: bool = False

    @classmethod
    def from_doc(cls, doc: Mapping[str, object] | None) -> Controls:
        """Parse the document; anything but an explicit ``true`` leaves entries allowed."""
        doc = doc or {}
        return cls(entries_paused=doc.get("entries_paused") is True, flatten_pending=bool(doc.get("flatten_pending")))


def kill_switch_reason(global_controls: Controls, follower_controls: Controls) -> str | None:
    """Why a kill switch stops this entry, or None."""
    if global_controls.entries_paused:
        return "entries paused globally (controls/global)"
    if global_controls.flatten_pending:
        return "flatten pending globally (controls/global)"
    if follower_controls.entries_paused:
        return "entries paused for this follower"
    if follower_controls.flatten_pending:
        return "flatten pending for this follower"
    return None


def entry_window_reason(at: datetime, start: time, end: time) -> str | None:
    """Why ``at`` is outside the New York entry window [start, end], or None."""
    local = new_york(at)
    if not start <= local.time() <= end:
        return f"outside the entry window {start:%H:%M}-{end:%H:%M} ET (now {local:%H:%M:%S})"
    return None


def seconds_until_window(at: datetime, start: time) -> float:
    """Business seconds from ``at`` until the entry window opens today (0 once it is open or past)."""
    local = new_york(at)
    opens = local.replace(hour=start.hour, minute=start.minute, second=start.second, microsecond=0)
    return max(0.0, (opens - local).total_seconds())


def stale_reason(expiry: date, at: datetime) -> str | None:
    """Why a 0-DTE entry for ``expiry`` can no longer be placed at ``at``, or None."""
    today = new_york(at).date()
    if expiry != today:
        return f"the signal is for {expiry}, today is {today}"
    return None


def credit_reason(mid_credit: Decimal | None, min_credit: Decimal) -> str | None:
    """Why the live mid credit is not enough, or None."""
    if mid_credit is None:
        return "no live quote for the spread"
    if mid_credit < min_credit:
        return f"mid credit {mid_credit} is below the minimum {min_credit}"
    return None


@dataclass(frozen=True)
class MarginDecision:
    """How many spreads the margin allows (0 = skip) and why fewer than asked."""

    contracts: int
    reason: str = ""


def spread_margin(width: Decimal, contracts: int, multiplier: int = 100) -> Decimal:
    """The initial margin of a defined-risk vertical credit spread: its width × multiplier × contracts.

    IBKR (Reg T, "Options margin requirements": bull put / bear call spreads) requires the difference between the
    strikes times the multiplier per spread; the credit received is not subtracted from the requirement (it is
    cash in the account).
    """
    return abs(width) * multiplier * contracts


@dataclass(frozen=True)
class LocalMargin:
    """The local margin answer: a decision, or None when the broker must be asked (close call, other positions)."""

    decision: MarginDecision | None
    why_ask: str = ""


def local_margin_decision(contracts: int, width: Decimal, state: AccountState | None, band_pct: Decimal,
                          mode: MarginMode) -> LocalMargin:
    """Keep, reduce or skip ``contracts`` from the account's funds, or say why a what-if is needed."""
    if state is None:
        return LocalMargin(None, "no account values from the broker yet")
    if state.holds_positions:
        return LocalMargin(None, "the account holds other positions")
    per_spread = spread_margin(width, 1)
    required = per_spread * contracts
    available = min(state.available_funds, state.excess_liquidity)
    band = band_pct / 100
    if available >= required * (1 + band):
        return LocalMargin(MarginDecision(contracts))
    if available > required * (1 - band):
        return LocalMargin(None, f"margin {required} is within {band_pct}% of available funds {available}")
    needed = f"margin {required} exceeds available funds {available}"
    fit = int(available / (per_spread * (1 + band))) if mode is MarginMode.REDUCE else 0
    if fit <= 0:
        return LocalMargin(MarginDecision(0, f"{needed}: skipped"))
    return LocalMargin(MarginDecision(min(fit, contracts), f"{needed}: reduced from {contracts} to {fit}"))


def margin_decision(contracts: int, margin: Margin, mode: MarginMode) -> MarginDecision:
    """Keep, reduce or skip ``contracts`` given the what-if margin."""
    if margin.equity_with_loan_after >= margin.init_margin_after:
        return MarginDecision(contracts)
    needed = f"margin {margin.init_margin_after} exceeds equity with loan {margin.equity_with_loan_after}"
    if mode is MarginMode.SKIP:
        return MarginDecision(0, f"{needed}: skipped")
    available = margin.equity_with_loan_after - (margin.init_margin_after - margin.init_margin_change)
    fit = affordable_contracts(contracts, margin.init_margin_change, available)
    if fit <= 0:
        return MarginDecision(0, f"{needed}: not even one spread fits")
    return MarginDecision(fit, f"{needed}: reduced from {contracts} to {fit}")
