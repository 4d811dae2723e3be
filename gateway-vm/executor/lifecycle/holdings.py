"""Reading an account's broker positions: which legs form spreads, which are orphans, whether stock appeared.

Pure functions of their inputs (no I/O, time is an argument), so the rules of the day read as tests:
- only the day's options are SpreadPilot's (every entry is a 0-DTE spread): an option of any other expiry is the
  follower's own and is left alone (``not_managed``);
- a spread is a short option paired with a long option of the same underlying, right and expiry (the day's signal
  strikes first, then the nearest strike); unpaired quantity is an orphan leg;
- the short leg's time value is its mid minus its intrinsic value; an exit is due once it is at most the setting
  while the short strike is in or near the money;
- at the pin-risk time, a spread whose short strike is within the setting of the underlying is closed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from executor.broker import HeldPosition
from spreadpilot.clock import new_york
from spreadpilot.market_calendar import on_the_day
from spreadpilot.models import Right, Spread


@dataclass(frozen=True)
class HeldSpread:
    """``qty`` spreads: ``short`` (sold) and ``long`` (bought) options of one right and expiry."""

    account: str
    short: HeldPosition
    long: HeldPosition
    qty: int

    @property
    def symbol(self) -> str:
        """The underlying."""
        return self.short.symbol

    @property
    def right(self) -> Right:
        """Put or call."""
        return self.short.right or Right.PUT

    @property
    def short_strike(self) -> Decimal:
        """The sold strike."""
        return self.short.strike or Decimal(0)

    @property
    def long_strike(self) -> Decimal:
        """The bought strike."""
        return self.long.strike or Decimal(0)


@dataclass(frozen=True)
class OrphanLeg:
    """Option quantity without a partner (signed: negative = a naked short)."""

    position: HeldPosition
    qty: int


@dataclass(frozen=True)
class Holdings:
    """One account's option spreads, orphan legs and stock."""

    account: str
    spreads: tuple[HeldSpread, ...] = ()
    orphans: tuple[OrphanLeg, ...] = ()
    stock: HeldPosition | None = None

    @property
    def flat(self) -> bool:
        """Nothing held."""
        return not self.spreads and not self.orphans and self.stock is None

    @property
    def symbol(self) -> str | None:
        """The underlying of what is held (the day's signal's: one ticker a day), None if flat."""
        held = [*(s.short for s in self.spreads), *(o.position for o in self.orphans),
                *([self.stock] if self.stock else [])]
        return held[0].symbol if held else None


def not_managed(position: HeldPosition, day: date) -> bool:
    """An option that does not expire on ``day``: not one of ours (the follower's own), never traded by us."""
    return position.sec_type == "OPT" and position.expiry != day


def classify(account: str, positions: Iterable[HeldPosition], expected: Iterable[Spread] = (),
             day: date | None = None) -> Holdings:
    """Group ``account``'s positions into spreads, orphans and stock (``expected`` strikes are paired first); with
    ``day``, options of another expiry are left out (``not_managed``)."""
    options: dict[tuple[str, date | None, Right | None], list[HeldPosition]] = defaultdict(list)
    stock: HeldPosition | None = None
    for p in positions:
        if p.account != account or p.qty == 0 or (day is not None and not_managed(p, day)):
            continue
        if p.sec_type == "STK":
            stock = p
        elif p.sec_type == "OPT":
            options[(p.symbol, p.expiry, p.right)].append(p)
    wanted = [(s.right, s.short_strike, s.long_strike) for s in expected]
    spreads: list[HeldSpread] = []
    orphans: list[OrphanLeg] = []
    for (_, _, right), legs in sorted(options.items(), key=lambda kv: tuple(str(k) for k in kv[0])):
        short_left = {p.con_id: -p.qty for p in legs if p.qty < 0}
        long_left = {p.con_id: p.qty for p in legs if p.qty > 0}
        by_id = {p.con_id: p for p in legs}
        for short_id, long_id in _pairs(by_id, right, wanted):
            n = min(short_left.get(short_id, 0), long_left.get(long_id, 0))
            if n > 0:
                spreads.append(HeldSpread(account, by_id[short_id], by_id[long_id], n))
                short_left[short_id] -= n
                long_left[long_id] -= n
        orphans += [OrphanLeg(by_id[c], -n) for c, n in short_left.items() if n > 0]
        orphans += [OrphanLeg(by_id[c], n) for c, n in long_left.items() if n > 0]
    return Holdings(account, tuple(spreads), tuple(orphans), stock)


def _pairs(by_id: dict[int, HeldPosition], right: Right | None,
           wanted: list[tuple[Right, Decimal, Decimal]]) -> list[tuple[int, int]]:
    """(short, long) conId pairs to try, the signal's strikes first, then each short with its nearest long."""
    shorts = [p for p in by_id.values() if p.qty < 0]
    longs = [p for p in by_id.values() if p.qty > 0]
    pairs: list[tuple[int, int]] = []
    for w_right, w_short, w_long in wanted:
        for s in shorts:
            for lg in longs:
                if right == w_right and s.strike == w_short and lg.strike == w_long:
                    pairs.append((s.con_id, lg.con_id))
    for s in sorted(shorts, key=lambda p: p.strike or Decimal(0)):
        for lg in sorted(longs, key=lambda p: abs((p.strike or Decimal(0)) - (s.strike or Decimal(0)))):
            pairs.append((s.con_id, lg.con_id))
    return pairs


def intrinsic(right: Right, strike: Decimal, underlying: Decimal) -> Decimal:
    """An option's intrinsic value per share."""
    return max(Decimal(0), strike - underlying) if right is Right.PUT else max(Decimal(0), underlying - strike)


def in_or_near_money(right: Right, strike: Decimal, underlying: Decimal, near: Decimal) -> bool:
    """True if a short option of ``strike`` is in the money or within ``near`` of it."""
    return underlying <= strike + near if right is Right.PUT else underlying >= strike - near


def time_value_exit_reason(spread: HeldSpread, short_mid: Decimal | None, underlying: Decimal | None,
                           threshold: Decimal, near: Decimal) -> str | None:
    """Why the whole spread must be closed now for lack of time value in its short leg, or None."""
    if short_mid is None or underlying is None:
        return None
    if not in_or_near_money(spread.right, spread.short_strike, underlying, near):
        return None
    value = short_mid - intrinsic(spread.right, spread.short_strike, underlying)
    if value > threshold:
        return None
    return (f"short {spread.right} {spread.short_strike} time value {max(value, Decimal(0)):.2f} <= {threshold} "
            f"with the underlying at {underlying}")


def pin_risk_reason(spread: HeldSpread, underlying: Decimal | None, at: datetime, pin_at: time, close_at: time,
                    distance: Decimal) -> str | None:
    """Why the spread must be closed for pin risk at ``at``, or None (``pin_at`` and ``close_at`` are regular-day
    times: on a half day both come as much earlier as the close does)."""
    local_at = new_york(at)
    local = local_at.time()
    if underlying is None or not on_the_day(local_at.date(), pin_at) <= local < on_the_day(local_at.date(), close_at):
        return None
    gap = abs(underlying - spread.short_strike)
    if gap > distance:
        return None
    return f"pin risk: short strike {spread.short_strike} is {gap:.2f} from the underlying at {local:%H:%M}"


POST_EXPIRY_LEAD = timedelta(minutes=15)  # the account-updates subscription starts this long before the check


def post_expiry_watch(at: datetime, check_at: time) -> bool:
    """Whether ``at`` is late enough to read the account's post-expiration excess (from ``POST_EXPIRY_LEAD`` before
    ``check_at``, a regular-day time moved with a half day's close): one subscription per holder, not all day."""
    local = new_york(at)
    due = datetime.combine(local.date(), on_the_day(local.date(), check_at), tzinfo=local.tzinfo)
    return local >= new_york(due - POST_EXPIRY_LEAD)


def post_expiry_reason(excess: Decimal | None, at: datetime, check_at: time) -> str | None:
    """Why the spreads must be closed now for the margin after expiry, or None: from ``check_at`` (15:30 on a
    regular day, 12:30 on a half day) an account whose ``PostExpirationExcess`` is negative would be liquidated by
    IBKR itself at expiry (FIELD-NOTES "Expiry and assignment"); unknown (None) is no reason."""
    local = new_york(at)
    if excess is None or excess >= 0 or local.time() < on_the_day(local.date(), check_at):
        return None
    return (f"post-expiry margin: the account's post-expiration excess is {excess:.2f} at {local:%H:%M}; closed "
            "before IBKR's own expiration liquidation")


def session_open_for_exits(at: datetime, close_at: time) -> bool:
    """Exits may be sent until the session closes (``close_at`` on a regular day; as much earlier on a half day)."""
    local = new_york(at)
    return local.time() < on_the_day(local.date(), close_at)
