"""Exercise, assignment and 16:00 expiry: an option position turns into stock (or disappears), as IBKR books it.

Each is booked as two trades without commission: the option leaves the account at no price, and the stock is
delivered at the strike (never at the market: an out-of-the-money option assigned early still delivers at its
strike). At expiry an option is exercised or assigned by exception when it closes at least $0.01 in the money
(OCC), judged on the closing price in cents; the rest expire worthless. Journal lines (``assignment``,
``exercise``, ``expiry``) carry ``con_id``, ``right``, ``strike``, ``side`` (of the position settled), ``qty``,
``shares`` delivered (signed), ``stock_price`` (the strike, when shares were delivered) and ``underlying``.
"""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

from ibsim import wire
from ibsim.accounts import Account
from ibsim.broker import Broker
from ibsim.codes import EXERCISE_ACTION_EXERCISE, ErrorCode
from ibsim.contracts import Listing, stock_of
from ibsim.fills import money
from ibsim.requests import ExerciseRequest

# An option finishing at least this far in the money is exercised automatically (OCC's threshold).
AUTO_EXERCISE_THRESHOLD = Decimal("0.01")


def _convert(broker: Broker, acct: Account, listing: Listing, qty: int) -> int:
    """Close ``qty`` (signed, the position's side) of an option into stock at the strike; the shares booked."""
    acct.apply_trade(listing, -qty, Decimal("0"), Decimal("0"))
    shares = qty * listing.multiplier * (1 if listing.right == "C" else -1)
    acct.apply_trade(stock_of(listing.symbol), shares, _strike(listing), Decimal("0"))
    return shares


def _strike(listing: Listing) -> Decimal:
    return Decimal(str(listing.strike))


def in_the_money_at(listing: Listing, underlying: float) -> bool:
    """At least $0.01 in the money on the price in cents (no float residue decides an exercise)."""
    price = money(underlying)
    intrinsic_value = price - _strike(listing) if listing.right == "C" else _strike(listing) - price
    return intrinsic_value >= AUTO_EXERCISE_THRESHOLD


def _details(listing: Listing, side: str, shares: int, underlying: float) -> dict[str, object]:
    return {"right": listing.right, "strike": listing.strike, "side": side,
            "stock_price": listing.strike if shares else None, "underlying": float(money(underlying))}


def exercise(broker: Broker, client_id: int, req: ExerciseRequest) -> None:
    """Handle exerciseOptions: exercise (action 1) or lapse (2) part of a long option position; an exercise out of
    the money without ``override`` is not carried out (journaled as ``action: refused``)."""
    listing = broker.chain.by_con_id(req.con_id)
    acct = broker.accounts.get(req.account) or broker.accounts.get(broker.config.accounts[0])
    pos = acct.positions.get(req.con_id) if acct and listing else None
    if listing is None or acct is None or pos is None or pos.qty < req.qty or req.qty <= 0:
        broker.to_client(client_id, wire.error(req.req_id, ErrorCode.INVALID_REQUEST,
                                               "Error validating request: exercise quantity exceeds the position"))
        return
    und = broker.underlying(listing.symbol)
    if req.action == EXERCISE_ACTION_EXERCISE and not req.override and not in_the_money_at(listing, und):
        # IB carries out an exercise out of the money only with override=1; the option simply stays held
        broker.journal.write("exercise", acct.account_id, con_id=listing.con_id, qty=req.qty, action="refused",
                             reason="out of the money and override=0", legs=[_leg(listing, "SELL")], shares=0,
                             price=und)
        return
    if req.action == EXERCISE_ACTION_EXERCISE:
        shares = _convert(broker, acct, listing, req.qty)
    else:
        acct.apply_trade(listing, -req.qty, Decimal("0"), Decimal("0"))
        shares = 0
    broker.journal.write("exercise", acct.account_id, con_id=listing.con_id, qty=req.qty,
                         action="exercise" if req.action == EXERCISE_ACTION_EXERCISE else "lapse",
                         legs=[_leg(listing, "SELL")], shares=shares, price=und, **_details(listing, "long", shares,
                                                                                            und))
    _notify(broker, acct.account_id)


def assign(broker: Broker, account: str, con_id: int | None = None, qty: int | None = None) -> bool:
    """Assign a short option of ``account`` (the given conId, else the first short found); False if none."""
    acct = broker.accounts[account]
    shorts = [p for p in acct.held() if p.listing.is_option and p.qty < 0 and con_id in (None, p.listing.con_id)]
    if not shorts:
        return False
    pos = shorts[0]
    n = min(qty or -pos.qty, -pos.qty)
    listing = pos.listing
    shares = _convert(broker, acct, listing, -n)
    und = broker.underlying(listing.symbol)
    broker.journal.write("assignment", account, con_id=listing.con_id, qty=n, legs=[_leg(listing, "BUY")],
                         shares=shares, price=und, **_details(listing, "short", shares, und))
    _notify(broker, account)
    return True


def projected_after_expiry(broker: Broker, acct: Account, day: date) -> Account:
    """A copy of ``acct`` as it would stand once ``day``'s options expired at the current underlying: the ones in
    the money converted to stock at the strike, the rest gone (what IB's ``PostExpiration*`` values project)."""
    after = copy.deepcopy(acct)
    for pos in [p for p in after.held() if p.listing.is_option and p.listing.expiry_date() <= day]:
        if in_the_money_at(pos.listing, broker.underlying(pos.listing.symbol)):
            _convert(broker, after, pos.listing, pos.qty)
        else:
            after.apply_trade(pos.listing, -pos.qty, Decimal("0"), Decimal("0"))
    return after


def expire(broker: Broker, day: date) -> int:
    """Settle every option expiring on ``day`` at its underlying's price: in the money into stock, the rest
    worthless; returns positions."""
    settled = 0
    for acct in broker.accounts.values():
        for pos in [p for p in acct.held() if p.listing.is_option and p.listing.expiry_date() <= day]:
            und = broker.underlying(pos.listing.symbol)
            itm = in_the_money_at(pos.listing, und)
            qty = pos.qty
            shares = _convert(broker, acct, pos.listing, qty) if itm else 0
            if not itm:
                acct.apply_trade(pos.listing, -qty, Decimal("0"), Decimal("0"))
            broker.journal.write("expiry", acct.account_id, con_id=pos.listing.con_id, qty=qty, shares=shares,
                                 legs=[_leg(pos.listing, "SELL" if qty > 0 else "BUY")], price=und,
                                 in_the_money=itm, **_details(pos.listing, "long" if qty > 0 else "short", shares,
                                                              und))
            settled += 1
        if settled:
            _notify(broker, acct.account_id)
    return settled


def _leg(listing: Listing, action: str) -> dict[str, object]:
    return {"con_id": listing.con_id, "symbol": listing.symbol, "expiry": listing.expiry, "strike": listing.strike,
            "right": listing.right, "action": action, "ratio": 1}


def _notify(broker: Broker, account: str) -> None:
    for conn in list(broker.connections.values()):
        conn.account_changed(account)
