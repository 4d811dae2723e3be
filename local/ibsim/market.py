"""The underlying's price path (scenario or run-time override) and the quotes it implies."""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, datetime, time

from ibsim.contracts import SYMBOL, UNDERLYINGS, Listing
from ibsim.pricing import Greeks, Quote, black_scholes, quote_around, stock_quote, years_between
from spreadpilot import market_calendar
from spreadpilot.clock import NEW_YORK

MARKET_CLOSE = time(16, 0)


def parse_path(points: dict[str, float]) -> list[tuple[time, float]]:
    """Turn the scenario's ``{"09:30": 487.2, ...}`` into sorted (time, price) knots."""
    knots = [(time.fromisoformat(k if len(k) > 5 else k + ":00"), float(v)) for k, v in points.items()]
    return sorted(knots)


def price_on_path(knots: list[tuple[time, float]], at: time) -> float:
    """Piecewise-linear interpolation; flat before the first and after the last knot."""
    if not knots:
        raise ValueError("empty price path")
    seconds = [k.hour * 3600 + k.minute * 60 + k.second + k.microsecond / 1e6 for k, _ in knots]
    x = at.hour * 3600 + at.minute * 60 + at.second + at.microsecond / 1e6
    i = bisect_right(seconds, x)
    if i == 0:
        return knots[0][1]
    if i == len(knots):
        return knots[-1][1]
    x0, x1 = seconds[i - 1], seconds[i]
    p0, p1 = knots[i - 1][1], knots[i][1]
    return p0 + (p1 - p0) * (x - x0) / (x1 - x0)


def close_on(day: date) -> time:
    """The day's close in New York: 16:00, or 13:00 on the exchange calendar's half days (0-DTE options stop then)."""
    return market_calendar.on_the_day(day, MARKET_CLOSE)


def expiry_moment(day: date) -> datetime:
    """The close (16:00, 13:00 on a half day) in New York on an expiry date."""
    return datetime.combine(day, close_on(day), NEW_YORK)


class Market:
    """Prices everything from the underlying: the day's path (``days``, else the one ``knots``), or a fixed price set
    at run time (which wins)."""

    def __init__(self, default_price: float, vol: float, rate: float, spread_fraction: float) -> None:
        self.knots: list[tuple[time, float]] = []
        self.days: dict[date, list[tuple[time, float]]] = {}  # a path per New York date (several simulated days)
        self.override: float | None = None
        self.default_price = default_price
        self.vol = vol
        self.rate = rate
        self.spread_fraction = spread_fraction

    def underlying(self, now: datetime, symbol: str = SYMBOL) -> float:
        """An underlying's price at ``now``: QQQ's (the path, the pin), times the underlying's fixed ratio."""
        return self._qqq(now) * UNDERLYINGS[symbol].ratio

    def _qqq(self, now: datetime) -> float:
        if self.override is not None:
            return self.override
        ny = now.astimezone(NEW_YORK)
        knots = self.days.get(ny.date(), self.knots)
        if knots:
            return price_on_path(knots, ny.time())
        return self.default_price

    def greeks(self, listing: Listing, now: datetime) -> Greeks:
        """Model value of an option at ``now``."""
        years = years_between(now.timestamp(), expiry_moment(listing.expiry_date()).timestamp())
        return black_scholes(listing.right, listing.strike, self.underlying(now, listing.symbol), years, self.vol,
                             self.rate)

    def quote(self, listing: Listing, now: datetime) -> Quote:
        """Bid/ask of a stock or option at ``now``."""
        if not listing.is_option:
            return stock_quote(self.underlying(now, listing.symbol))
        return quote_around(self.greeks(listing, now).price, self.spread_fraction)

    def mark(self, listing: Listing, now: datetime) -> float:
        """Mid price used for P&L and portfolio values."""
        return self.quote(listing, now).mid
