"""Parsers for the client's requests (layouts as ib_async/ib_insync send them to server version 176)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ibsim.protocol import UNSET_DOUBLE, FieldReader


@dataclass(frozen=True)
class ContractSpec:
    """The 12 contract fields a client sends."""

    con_id: int = 0
    symbol: str = ""
    sec_type: str = ""
    expiry: str = ""
    strike: float = 0.0
    right: str = ""
    multiplier: str = ""
    exchange: str = ""
    primary_exchange: str = ""
    currency: str = ""
    local_symbol: str = ""
    trading_class: str = ""


@dataclass(frozen=True)
class LegSpec:
    """One combo leg as sent."""

    con_id: int
    ratio: int
    action: str
    exchange: str


@dataclass(frozen=True)
class PlaceOrderRequest:
    """The parts of placeOrder the simulator acts on."""

    order_id: int
    contract: ContractSpec
    action: str
    qty: float
    order_type: str
    limit: float | None
    tif: str
    account: str
    order_ref: str
    transmit: bool
    legs: list[LegSpec] = field(default_factory=list)
    what_if: bool = False


def read_contract(r: FieldReader) -> ContractSpec:
    """Read the 12-field contract block."""
    return ContractSpec(
        con_id=r.integer(),
        symbol=r.text(),
        sec_type=r.text(),
        expiry=r.text(),
        strike=r.number(),
        right=r.text(),
        multiplier=r.text(),
        exchange=r.text(),
        primary_exchange=r.text(),
        currency=r.text(),
        local_symbol=r.text(),
        trading_class=r.text(),
    )


def _read_legs(r: FieldReader) -> list[LegSpec]:
    legs = []
    for _ in range(r.integer()):
        legs.append(LegSpec(con_id=r.integer(), ratio=r.integer(1), action=r.text(), exchange=r.text()))
        r.skip(4)  # openClose, shortSaleSlot, designatedLocation, exemptCode
    r.skip(r.integer())  # order combo leg prices
    r.skip(2 * r.integer())  # smart combo routing params
    return legs


def _skip_to_what_if(r: FieldReader) -> bool:
    """Walk the long middle of placeOrder (whose length depends on a few flags) up to ``whatIf``."""
    r.skip(8)  # "", discretionaryAmt, goodAfterTime, goodTillDate, faGroup, faMethod, faPercentage, faProfile
    r.skip(22)  # modelCode .. volatilityType
    delta_neutral_type = r.text()
    r.skip(1)  # deltaNeutralAuxPrice
    if delta_neutral_type:
        r.skip(8)
    r.skip(6)  # continuousUpdate .. scaleSubsLevelSize
    increment = r.number(UNSET_DOUBLE)
    if 0 < increment < UNSET_DOUBLE:
        r.skip(7)
    r.skip(3)  # scaleTable, activeStartTime, activeStopTime
    if r.text():  # hedgeType
        r.skip(1)
    r.skip(4)  # optOutSmartRouting, clearingAccount, clearingIntent, notHeld
    if r.flag():  # delta-neutral contract
        r.skip(3)
    if r.text():  # algoStrategy
        r.skip(2 * r.integer())
    r.skip(1)  # algoId
    return r.flag()


def parse_place_order(fields: Sequence[str]) -> PlaceOrderRequest:
    """Parse placeOrder (3)."""
    r = FieldReader(fields)
    order_id = r.integer()
    contract = read_contract(r)
    r.skip(2)  # secIdType, secId
    action, qty, order_type = r.text(), r.number(), r.text()
    limit_text = r.text()
    r.skip(1)  # auxPrice
    tif, _oca, account, _open_close, _origin, order_ref = (r.text() for _ in range(6))
    transmit = r.text() != "0"
    r.skip(7)  # parentId .. hidden
    legs = _read_legs(r) if contract.sec_type == "BAG" else []
    what_if = _skip_to_what_if(r)
    return PlaceOrderRequest(
        order_id=order_id,
        contract=contract,
        action=action.upper(),
        qty=qty,
        order_type=order_type.upper(),
        limit=float(limit_text) if limit_text else None,
        tif=tif or "DAY",
        account=account,
        order_ref=order_ref,
        transmit=transmit,
        legs=legs,
        what_if=what_if,
    )


@dataclass(frozen=True)
class MarketDataRequest:
    """reqMktData (1)."""

    req_id: int
    contract: ContractSpec
    legs: list[LegSpec]
    snapshot: bool


def parse_market_data(fields: Sequence[str]) -> MarketDataRequest:
    """Parse reqMktData (1): version, reqId, contract, legs for BAG, delta-neutral, ticks, snapshot."""
    r = FieldReader(fields, start=2)
    req_id = r.integer()
    contract = read_contract(r)
    legs: list[LegSpec] = []
    if contract.sec_type == "BAG":
        for _ in range(r.integer()):
            legs.append(LegSpec(con_id=r.integer(), ratio=r.integer(1), action=r.text(), exchange=r.text()))
    if r.flag():
        r.skip(3)
    r.skip(1)  # generic tick list
    return MarketDataRequest(req_id=req_id, contract=contract, legs=legs, snapshot=r.flag())


@dataclass(frozen=True)
class ExerciseRequest:
    """exerciseOptions (21)."""

    req_id: int
    con_id: int
    symbol: str
    expiry: str
    strike: float
    right: str
    action: int
    qty: int
    account: str
    override: int


def parse_exercise(fields: Sequence[str]) -> ExerciseRequest:
    """Parse exerciseOptions (21): version, reqId, 11 contract fields (no primaryExchange), action, qty, ..."""
    r = FieldReader(fields, start=2)
    req_id, con_id, symbol = r.integer(), r.integer(), r.text()
    r.skip(1)  # secType
    expiry, strike, right = r.text(), r.number(), r.text()
    r.skip(5)  # multiplier, exchange, currency, localSymbol, tradingClass
    return ExerciseRequest(req_id, con_id, symbol, expiry, strike, right, r.integer(), r.integer(), r.text(),
                           r.integer())


def parse_contract_details(fields: Sequence[str]) -> tuple[int, ContractSpec]:
    """Parse reqContractDetails (9): version, reqId, contract, ..."""
    r = FieldReader(fields, start=2)
    return r.integer(), read_contract(r)
