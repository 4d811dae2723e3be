"""Black-Scholes option values and the bid/ask the simulator quotes around them."""

from __future__ import annotations

import math
from dataclasses import dataclass

TICK = 0.01
MIN_HALF_SPREAD = 0.01
# Expiring options keep a sliver of time value until the close, so the model never divides by zero.
MIN_YEARS = 1e-6
YEAR_SECONDS = 365.0 * 24 * 3600


@dataclass(frozen=True)
class Greeks:
    """Model price and sensitivities of one option."""

    price: float
    delta: float
    gamma: float
    vega: float
    theta: float


@dataclass(frozen=True)
class Quote:
    """A two-sided quote with sizes; ``mid`` is the model value rounded to the tick."""

    bid: float
    ask: float
    mid: float
    bid_size: int = 50
    ask_size: int = 50


def _norm_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _norm_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def intrinsic(right: str, strike: float, underlying: float) -> float:
    """Exercise value of one option share."""
    return max(0.0, underlying - strike) if right == "C" else max(0.0, strike - underlying)


def black_scholes(right: str, strike: float, underlying: float, years: float, vol: float, rate: float) -> Greeks:
    """European option value and greeks (QQQ's 0-DTE options are American, but early exercise is immaterial)."""
    t = max(years, MIN_YEARS)
    sq = vol * math.sqrt(t)
    d1 = (math.log(underlying / strike) + (rate + 0.5 * vol * vol) * t) / sq
    d2 = d1 - sq
    disc = math.exp(-rate * t)
    if right == "C":
        price = underlying * _norm_cdf(d1) - strike * disc * _norm_cdf(d2)
        delta = _norm_cdf(d1)
        theta = -underlying * _norm_pdf(d1) * vol / (2 * math.sqrt(t)) - rate * strike * disc * _norm_cdf(d2)
    else:
        price = strike * disc * _norm_cdf(-d2) - underlying * _norm_cdf(-d1)
        delta = _norm_cdf(d1) - 1.0
        theta = -underlying * _norm_pdf(d1) * vol / (2 * math.sqrt(t)) + rate * strike * disc * _norm_cdf(-d2)
    gamma = _norm_pdf(d1) / (underlying * sq)
    vega = underlying * _norm_pdf(d1) * math.sqrt(t) / 100.0
    return Greeks(max(price, intrinsic(right, strike, underlying)), delta, gamma, vega, theta / 365.0)


def round_tick(price: float) -> float:
    """Round to the cent (QQQ options trade in pennies)."""
    return round(round(price / TICK) * TICK, 2)


def quote_around(value: float, spread_fraction: float) -> Quote:
    """A bid/ask around a model value: half-spread is a fraction of it, at least one tick; bid never negative."""
    half = max(MIN_HALF_SPREAD, value * spread_fraction)
    mid = round_tick(value)
    bid = max(0.0, round_tick(mid - half))
    ask = max(round_tick(mid + half), TICK)
    return Quote(bid=bid, ask=ask, mid=round_tick((bid + ask) / 2))


def stock_quote(price: float) -> Quote:
    """QQQ itself: a one-cent market."""
    mid = round(price, 2)
    return Quote(bid=round(mid - 0.01, 2), ask=round(mid + 0.01, 2), mid=mid, bid_size=500, ask_size=500)


def years_between(now_epoch: float, expiry_epoch: float) -> float:
    """Time to expiry in years."""
    return max(0.0, expiry_epoch - now_epoch) / YEAR_SECONDS
