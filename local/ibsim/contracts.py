"""What the simulator lists: QQQ and SPY stock and their options ($1 strikes) for the simulated day and the next few
days (both list options expiring every trading day).

Option conIds are computed, not stored, so every simulator process (one per follower gateway) agrees on them:
``base of the underlying + (expiry ordinal mod 10_000) * 10_000 + strike * 2 + (1 for puts)``. SPY's price is QQQ's
times a fixed ratio (``market.Market``), so a scenario's one path moves both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

SYMBOL = "QQQ"
STOCK_CON_ID = 320227571  # QQQ's real conId, so logs look familiar
OPTION_BASE = 800_000_000
OPTION_SPAN = 100_000_000  # each underlying's option conIds lie in [base, base + span)


@dataclass(frozen=True)
class Underlying:
    """One listed underlying: its stock's conId, where its options' conIds start, its price as a multiple of QQQ's."""

    symbol: str
    stock_con_id: int
    option_base: int
    ratio: float  # its price is QQQ's times this
    long_name: str


UNDERLYINGS = {
    "QQQ": Underlying("QQQ", STOCK_CON_ID, OPTION_BASE, 1.0, "INVESCO QQQ TRUST SERIES 1"),
    "SPY": Underlying("SPY", 756733, 1_100_000_000, 1.21875, "SPDR S&P 500 ETF TRUST"),  # SPY's real conId
}
OPTION_MULTIPLIER = 100
STRIKE_HALF_RANGE = 60
EXPIRY_COUNT = 5
OPTION_EXCHANGES = "SMART,AMEX,CBOE,PHLX,PSE,ISE,BOX,NASDAQOM,BATS,MIAX,EDGX,GEMINI,EMERALD"


@dataclass(frozen=True)
class Listing:
    """One listed instrument, in the fields IB uses to describe it."""

    con_id: int
    sec_type: str  # STK or OPT
    symbol: str = SYMBOL
    expiry: str = ""  # YYYYMMDD
    strike: float = 0.0
    right: str = ""  # P or C
    multiplier: int = 1
    exchange: str = "SMART"
    primary_exchange: str = "NASDAQ"
    currency: str = "USD"
    trading_class: str = SYMBOL

    @property
    def local_symbol(self) -> str:
        """OCC-style symbol for options (``QQQ   260317P00480000``), the ticker for stock."""
        if self.sec_type != "OPT":
            return self.symbol
        return f"{self.symbol:<6}{self.expiry[2:]}{self.right}{round(self.strike * 1000):08d}"

    @property
    def is_option(self) -> bool:
        """True for options."""
        return self.sec_type == "OPT"

    def expiry_date(self) -> date:
        """The expiry as a date (options only)."""
        return date(int(self.expiry[:4]), int(self.expiry[4:6]), int(self.expiry[6:8]))


def stock_of(symbol: str) -> Listing:
    """The stock listing of an underlying."""
    u = UNDERLYINGS[symbol]
    return Listing(con_id=u.stock_con_id, sec_type="STK", symbol=symbol, exchange="SMART", multiplier=1,
                   trading_class=symbol)


STOCK = stock_of(SYMBOL)
STOCKS = {u.stock_con_id: stock_of(u.symbol) for u in UNDERLYINGS.values()}


def normalise_right(right: str) -> str:
    """IB accepts P/PUT/C/CALL; the simulator keeps one letter."""
    return right.upper()[:1] if right else ""


def option_con_id(expiry: date, strike: int, right: str, symbol: str = SYMBOL) -> int:
    """The conId of one option."""
    return (UNDERLYINGS[symbol].option_base + (expiry.toordinal() % 10_000) * 10_000 + strike * 2
            + (1 if right == "P" else 0))


def listed_expiries(today: date) -> list[date]:
    """Today (0-DTE) and the next weekdays."""
    days = [today]
    day = today
    while len(days) < EXPIRY_COUNT:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days


class Chain:
    """Each underlying's option chain around its reference price (QQQ's, times the underlying's ratio); rebuilt when
    the simulated day changes."""

    def __init__(self, today: date, reference_price: float) -> None:
        self.today = today
        self.expiries = listed_expiries(today)
        self.strikes_of = {u.symbol: _strikes_around(reference_price * u.ratio) for u in UNDERLYINGS.values()}
        self._by_ordinal = {d.toordinal() % 10_000: d for d in self.expiries}
        # Options that were listed once stay resolvable (positions outlive a chain rebuild).
        self.extra: dict[int, Listing] = {}

    def option(self, expiry: date, strike: int, right: str, symbol: str = SYMBOL) -> Listing:
        """The listing of one option (not checked against the chain)."""
        return Listing(
            con_id=option_con_id(expiry, strike, right, symbol),
            sec_type="OPT",
            symbol=symbol,
            trading_class=symbol,
            expiry=expiry.strftime("%Y%m%d"),
            strike=float(strike),
            right=right,
            multiplier=OPTION_MULTIPLIER,
            primary_exchange="",
        )

    def by_con_id(self, con_id: int) -> Listing | None:
        """Resolve a conId to a listing, or None."""
        if con_id in STOCKS:
            return STOCKS[con_id]
        if con_id in self.extra:
            return self.extra[con_id]
        found = [u for u in UNDERLYINGS.values() if 0 < con_id - u.option_base < OPTION_SPAN]
        if not found:
            return None
        ordinal_key, rest = divmod(con_id - found[0].option_base, 10_000)
        strike, is_put = divmod(rest, 2)
        expiry = self._by_ordinal.get(ordinal_key)
        if expiry is None or strike not in self.strikes_of[found[0].symbol]:
            return None
        return self.option(expiry, strike, "P" if is_put else "C", found[0].symbol)

    def search(self, sec_type: str, symbol: str, expiry: str, strike: float, right: str) -> list[Listing]:
        """Every listing that matches a partially filled contract (as reqContractDetails does)."""
        wanted = (symbol or SYMBOL).upper()
        if wanted not in UNDERLYINGS:
            return []
        if sec_type == "STK":
            return [stock_of(wanted)]
        if sec_type != "OPT":
            return []
        wanted_right = normalise_right(right)
        found: list[Listing] = []
        for day in self.expiries:
            if expiry and day.strftime("%Y%m%d") != expiry[:8]:
                continue
            for k in self.strikes_of[wanted]:
                if strike and abs(k - strike) > 1e-9:
                    continue
                for r in ("C", "P"):
                    if wanted_right and r != wanted_right:
                        continue
                    found.append(self.option(day, k, r, wanted))
        return found

    def remember(self, listing: Listing) -> None:
        """Keep a listing resolvable after the chain moves on (held positions)."""
        if listing.is_option:
            self.extra[listing.con_id] = listing


def _strikes_around(price: float) -> list[int]:
    centre = round(price)
    return list(range(max(1, centre - STRIKE_HALF_RANGE), centre + STRIKE_HALF_RANGE + 1))
