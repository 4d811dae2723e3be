"""What the simulator lists: QQQ stock and QQQ options ($1 strikes) for the simulated day and the next few days.

Option conIds are computed, not stored, so every simulator process (one per follower gateway) agrees on them:
``OPTION_BASE + (expiry ordinal mod 10_000) * 10_000 + strike * 2 + (1 for puts)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

SYMBOL = "QQQ"
STOCK_CON_ID = 320227571  # QQQ's real conId, so logs look familiar
OPTION_BASE = 800_000_000
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


STOCK = Listing(con_id=STOCK_CON_ID, sec_type="STK", exchange="SMART", multiplier=1)


def normalise_right(right: str) -> str:
    """IB accepts P/PUT/C/CALL; the simulator keeps one letter."""
    return right.upper()[:1] if right else ""


def option_con_id(expiry: date, strike: int, right: str) -> int:
    """The conId of one option."""
    return OPTION_BASE + (expiry.toordinal() % 10_000) * 10_000 + strike * 2 + (1 if right == "P" else 0)


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
    """The option chain around a reference price; rebuilt when the simulated day changes."""

    def __init__(self, today: date, reference_price: float) -> None:
        self.today = today
        self.expiries = listed_expiries(today)
        centre = round(reference_price)
        self.strikes = list(range(max(1, centre - STRIKE_HALF_RANGE), centre + STRIKE_HALF_RANGE + 1))
        self._by_ordinal = {d.toordinal() % 10_000: d for d in self.expiries}
        # Options that were listed once stay resolvable (positions outlive a chain rebuild).
        self.extra: dict[int, Listing] = {}

    def option(self, expiry: date, strike: int, right: str) -> Listing:
        """The listing of one option (not checked against the chain)."""
        return Listing(
            con_id=option_con_id(expiry, strike, right),
            sec_type="OPT",
            expiry=expiry.strftime("%Y%m%d"),
            strike=float(strike),
            right=right,
            multiplier=OPTION_MULTIPLIER,
            primary_exchange="",
        )

    def by_con_id(self, con_id: int) -> Listing | None:
        """Resolve a conId to a listing, or None."""
        if con_id == STOCK_CON_ID:
            return STOCK
        if con_id in self.extra:
            return self.extra[con_id]
        offset = con_id - OPTION_BASE
        if offset <= 0:
            return None
        ordinal_key, rest = divmod(offset, 10_000)
        strike, is_put = divmod(rest, 2)
        expiry = self._by_ordinal.get(ordinal_key)
        if expiry is None or strike not in self.strikes:
            return None
        return self.option(expiry, strike, "P" if is_put else "C")

    def search(self, sec_type: str, symbol: str, expiry: str, strike: float, right: str) -> list[Listing]:
        """Every listing that matches a partially filled contract (as reqContractDetails does)."""
        if symbol and symbol.upper() != SYMBOL:
            return []
        if sec_type == "STK":
            return [STOCK]
        if sec_type != "OPT":
            return []
        wanted_right = normalise_right(right)
        found: list[Listing] = []
        for day in self.expiries:
            if expiry and day.strftime("%Y%m%d") != expiry[:8]:
                continue
            for k in self.strikes:
                if strike and abs(k - strike) > 1e-9:
                    continue
                for r in ("C", "P"):
                    if wanted_right and r != wanted_right:
                        continue
                    found.append(self.option(day, k, r))
        return found

    def remember(self, listing: Listing) -> None:
        """Keep a listing resolvable after the chain moves on (held positions)."""
        if listing.is_option:
            self.extra[listing.con_id] = listing
