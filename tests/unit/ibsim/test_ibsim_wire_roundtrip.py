"""Every outgoing encoder, decoded by the real ib_async decoder; every parsed request, encoded by the real client."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from ib_async import ComboLeg, Contract, LimitOrder, Option
from ib_async.util import UNSET_DOUBLE
from ibsim_wire_capture import client_request, decode

from ibsim import wire, wire_orders
from ibsim.contracts import STOCK, Chain
from ibsim.orders import Fill, Leg, SimOrder, Status
from ibsim.pricing import Greeks, Quote
from ibsim.requests import parse_contract_details, parse_exercise, parse_market_data, parse_place_order
from ibsim.wire_orders import MarginFigures

CHAIN = Chain(datetime(2026, 3, 17, tzinfo=UTC).date(), 480.0)
SHORT = CHAIN.by_con_id(CHAIN.option(CHAIN.today, 479, "P").con_id)
LONG = CHAIN.by_con_id(CHAIN.option(CHAIN.today, 474, "P").con_id)
assert SHORT is not None
assert LONG is not None


def _combo_order(status: Status = Status.SUBMITTED) -> SimOrder:
    return SimOrder(order_id=12, client_id=3, perm_id=1000042, account="DU007", action="BUY", qty=2,
                    order_type="LMT", limit=Decimal("-0.85"), tif="DAY", order_ref="intent-1",
                    legs=[Leg(SHORT, "SELL"), Leg(LONG, "BUY")], status=status, filled=2 if status == "Filled" else 0)


def test_open_order_of_a_bag_decodes_with_legs_order_ref_perm_id_and_negative_limit() -> None:
    [(name, (order_id, contract, order, state))] = decode(wire_orders.open_order(_combo_order()))
    assert (name, order_id) == ("openOrder", 12)
    assert (contract.secType, contract.symbol) == ("BAG", "QQQ")
    assert [(leg.conId, leg.ratio, leg.action) for leg in contract.comboLegs] == [
        (SHORT.con_id, 1, "SELL"), (LONG.con_id, 1, "BUY")]
    assert (order.action, order.totalQuantity, order.orderType, order.lmtPrice) == ("BUY", 2.0, "LMT", -0.85)
    assert (order.orderRef, order.permId, order.clientId, order.account) == ("intent-1", 1000042, 3, "DU007")
    assert order.whatIf is False
    assert state.status == "Submitted"


def test_what_if_open_order_carries_the_margin_figures() -> None:
    margin = MarginFigures(Decimal("0"), Decimal("830.00"), Decimal("830.00"), Decimal("100000"), Decimal("-2.6"),
                           Decimal("99997.4"), Decimal("2.60"))
    [(_, (_, _, order, state))] = decode(wire_orders.open_order(_combo_order(), margin))
    assert order.whatIf is True
    assert Decimal(state.initMarginChange) == Decimal("830.00")
    assert Decimal(state.equityWithLoanAfter) == Decimal("99997.4")
    assert state.commission == 2.6


def test_open_order_of_a_single_option_decodes_the_contract() -> None:
    order = SimOrder(5, 1, 77, "DU001", "SELL", 1, "MKT", None, "DAY", "", listing=SHORT)
    [(_, (_, contract, decoded, _))] = decode(wire_orders.open_order(order))
    assert (contract.conId, contract.right, contract.strike, contract.multiplier) == (SHORT.con_id, "P", 479.0, "100")
    assert contract.lastTradeDateOrContractMonth == "20260317"
    assert decoded.lmtPrice == UNSET_DOUBLE


def test_completed_order_decodes_status_and_identity() -> None:
    order = _combo_order(Status.FILLED)
    order.completed_at = datetime(2026, 3, 17, 14, 31, tzinfo=UTC)
    [(name, (contract, decoded, state))] = decode(wire_orders.completed_order(order))
    assert name == "completedOrder"
    assert len(contract.comboLegs) == 2
    assert (decoded.orderRef, decoded.permId, decoded.filledQuantity) == ("intent-1", 1000042, 2.0)
    assert (state.status, state.completedStatus) == ("Filled", "Filled")
    assert state.completedTime == "20260317 10:31:00 US/Eastern"


def test_order_status_decodes_every_field() -> None:
    order = _combo_order(Status.FILLED)
    order.avg_fill_price = Decimal("-0.85")
    [(name, args)] = decode(wire_orders.order_status(order))
    assert name == "orderStatus"
    assert args[:6] == (12, "Filled", 2.0, 0.0, -0.85, 1000042)
    assert args[8] == 3


def _fill() -> Fill:
    return Fill("0000f00d.00000001.01.01", 12, 3, 1000042, "DU007", SHORT, "SLD", 2, Decimal("1.25"), 2,
                Decimal("1.25"), "intent-1", datetime(2026, 3, 17, 14, 31, 5, tzinfo=UTC), Decimal("1.30"))


def test_exec_details_and_commission_report_decode() -> None:
    [(name, (req_id, contract, execution))] = decode(wire_orders.exec_details(-1, _fill()))
    assert (name, req_id, contract.conId, contract.secType) == ("execDetails", -1, SHORT.con_id, "OPT")
    assert (execution.execId, execution.side, execution.shares, execution.price) == (
        "0000f00d.00000001.01.01", "SLD", 2.0, 1.25)
    assert (execution.acctNumber, execution.orderRef, execution.permId, execution.orderId) == (
        "DU007", "intent-1", 1000042, 12)
    assert execution.time == datetime(2026, 3, 17, 14, 31, 5, tzinfo=UTC)
    [(name, (report,))] = decode(wire_orders.commission_report(_fill()))
    assert (name, report.execId, report.commission, report.currency) == (
        "commissionReport", "0000f00d.00000001.01.01", 1.3, "USD")


def test_contract_details_decode_for_an_option() -> None:
    [(name, (req_id, details))] = decode(wire.contract_details(4, SHORT, "SMART"))
    assert (name, req_id) == ("contractDetails", 4)
    c = details.contract
    assert (c.conId, c.symbol, c.secType, c.strike, c.right, c.exchange, c.tradingClass) == (
        SHORT.con_id, "QQQ", "OPT", 479.0, "P", "SMART", "QQQ")
    assert c.localSymbol == "QQQ   260317P00479000"
    assert details.underConId == STOCK.con_id


def test_market_data_messages_decode() -> None:
    calls = [c for m in wire.quote_ticks(9, Quote(1.2, 1.3, 1.25)) for c in decode(m)]
    assert ("priceSizeTick", (9, 1, 1.2, 50.0)) in calls
    assert ("priceSizeTick", (9, 2, 1.3, 50.0)) in calls
    [(name, args)] = decode(wire.option_computation(9, Greeks(1.25, -0.4, 0.1, 0.05, -0.3), 0.2, 480.0))
    assert name == "tickOptionComputation"
    assert args[0:2] == (9, 13)
    assert args[4] == -0.4
    assert args[-1] == 480.0


def test_account_and_position_messages_decode() -> None:
    [(name, args)] = decode(wire.position("DU001", SHORT, -2.0, 125.0))
    assert name == "position"
    assert args[0] == "DU001"
    assert args[1].conId == SHORT.con_id
    assert args[2:] == (-2.0, 125.0)
    [(name, args)] = decode(wire.portfolio_value(SHORT, (-2.0, 1.2, -240.0, 125.0, 10.0, 0.0), "DU001"))
    assert name == "updatePortfolio"
    assert args[1:] == (-2.0, 1.2, -240.0, 125.0, 10.0, 0.0, "DU001")
    assert decode(wire.account_value("NetLiquidation", "100.00", "USD", "DU001")) == [
        ("updateAccountValue", ("NetLiquidation", "100.00", "USD", "DU001"))]
    assert decode(wire.account_update_multi(3, "DU001", "AvailableFunds", "5", "USD")) == [
        ("accountUpdateMulti", (3, "DU001", "", "AvailableFunds", "5", "USD"))]
    assert decode(wire.pnl(4, -1.0, 2.0, -3.0)) == [("pnl", (4, -1.0, 2.0, -3.0))]
    assert decode(wire.pnl_single(5, -2, 1.0, 1.0, 0.0, -240.0)) == [("pnlSingle", (5, -2, 1.0, 1.0, 0.0, -240.0))]
    assert decode(wire.error(-1, 1100, "lost")) == [("error", (-1, 1100, "lost", ""))]
    assert decode(wire.sec_def_opt_params(6, "QQQ", ["20260317"], [479.0, 480.0]))[0][1][5:] == (["20260317"],
                                                                                             [479.0, 480.0])


def test_place_order_from_the_real_client_parses_legs_limit_ref_and_what_if() -> None:
    bag = Contract(secType="BAG", symbol="QQQ", exchange="SMART", currency="USD",
                   comboLegs=[ComboLeg(SHORT.con_id, 1, "SELL", "SMART"), ComboLeg(LONG.con_id, 1, "BUY", "SMART")])
    order = LimitOrder("BUY", 3, -0.85, account="DU009", orderRef="intent-77", tif="DAY")
    order.whatIf = True
    req = parse_place_order(client_request("placeOrder", 41, bag, order))
    assert (req.order_id, req.action, req.qty, req.order_type, req.limit) == (41, "BUY", 3.0, "LMT", -0.85)
    assert (req.account, req.order_ref, req.tif, req.what_if) == ("DU009", "intent-77", "DAY", True)
    assert [(leg.con_id, leg.action, leg.ratio) for leg in req.legs] == [(SHORT.con_id, "SELL", 1),
                                                                         (LONG.con_id, "BUY", 1)]


def test_other_requests_from_the_real_client_parse() -> None:
    option = Option("QQQ", "20260317", 479, "P", "SMART", tradingClass="QQQ", conId=SHORT.con_id)
    req_id, spec = parse_contract_details(client_request("reqContractDetails", 8, option))
    assert (req_id, spec.con_id, spec.expiry, spec.strike, spec.right) == (8, SHORT.con_id, "20260317", 479.0, "P")
    md = parse_market_data(client_request("reqMktData", 11, option, "", True, False, []))
    assert (md.req_id, md.contract.con_id, md.snapshot) == (11, SHORT.con_id, True)
    ex = parse_exercise(client_request("exerciseOptions", 12, option, 1, 2, "DU001", 0))
    assert (ex.req_id, ex.con_id, ex.action, ex.qty, ex.account, ex.override) == (12, SHORT.con_id, 1, 2, "DU001", 0)


def test_position_multi_decodes() -> None:
    [(name, args)] = decode(wire.position_multi(3, "DU002", SHORT, -1.0, 120.0))
    assert name == "positionMulti"
    assert (args[0], args[1], args[2], args[3].conId, args[4], args[5]) == (3, "DU002", "", SHORT.con_id, -1.0, 120.0)
