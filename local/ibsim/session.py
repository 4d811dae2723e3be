"""One client connection: the handshake, request dispatch, and the subscriptions it holds."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ibsim import reporting, settlement, wire, wire_orders
from ibsim.codes import ErrorCode, In
from ibsim.contracts import SYMBOL, Listing
from ibsim.faults import SlowAnswer
from ibsim.fills import combo_quote
from ibsim.orders import Leg
from ibsim.pacing import Pacer
from ibsim.pricing import Quote
from ibsim.protocol import (
    API_PREFIX,
    MIN_CLIENT_VERSION,
    SERVER_VERSION,
    Field,
    FieldReader,
    FrameBuffer,
    encode_frame,
    parse_version_range,
    split_fields,
)
from ibsim.requests import parse_contract_details, parse_exercise, parse_market_data, parse_place_order

if TYPE_CHECKING:
    from ibsim.simulator import Simulator

log = logging.getLogger("ibsim.session")
Handler = Callable[[list[str]], object]


class Session(asyncio.Protocol):
    """Speaks the TWS API to one client."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.broker = sim.broker
        self.transport: asyncio.Transport | None = None
        self.buffer = FrameBuffer()
        self.pacer = Pacer(sim.config.max_message_rate)
        self.handshaken = False
        self.prefix_seen = False
        self.pre = bytearray()
        self.sent_positions: set[tuple[str, int]] = set()
        self.client_id = -1
        self.registered = False
        self.market_data: dict[int, list[Leg]] = {}
        self.pnl_subs: dict[int, str] = {}
        self.pnl_single_subs: dict[int, tuple[str, int]] = {}
        self.account_updates: str | None = None
        self.multi_subs: dict[int, str] = {}
        self.positions_sub = False
        self._holding: list[list[Field]] | None = None  # a slow_answer fault collects the answer here
        self.handlers: dict[int, Handler] = {
            In.START_API: self.on_start_api,
            In.REQ_IDS: lambda f: self.send(wire.next_valid_id(self.broker.next_ids.get(self.client_id, 1))),
            In.REQ_CURRENT_TIME: lambda f: self.send(wire.current_time(int(self.broker.now().timestamp()))),
            In.REQ_MANAGED_ACCTS: lambda f: self.send(wire.managed_accounts(self.broker.config.accounts)),
            In.REQ_POSITIONS: self.on_positions,
            In.CANCEL_POSITIONS: lambda f: setattr(self, "positions_sub", False),
            In.REQ_POSITIONS_MULTI: self.on_positions_multi,
            In.CANCEL_POSITIONS_MULTI: lambda f: None,
            In.REQ_OPEN_ORDERS: lambda f: self.on_open_orders(all_clients=self.client_id == 0),
            In.REQ_ALL_OPEN_ORDERS: lambda f: self.on_open_orders(all_clients=True),
            In.REQ_AUTO_OPEN_ORDERS: lambda f: None,
            In.REQ_COMPLETED_ORDERS: self.on_completed_orders,
            In.REQ_ACCOUNT_UPDATES: self.on_account_updates,
            In.REQ_ACCOUNT_UPDATES_MULTI: self.on_account_updates_multi,
            In.CANCEL_ACCOUNT_UPDATES_MULTI: lambda f: self.multi_subs.pop(int(f[2]), None),
            In.REQ_EXECUTIONS: self.on_executions,
            In.REQ_CONTRACT_DATA: self.on_contract_details,
            In.REQ_SEC_DEF_OPT_PARAMS: self.on_sec_def_opt_params,
            In.REQ_MKT_DATA: self.on_market_data,
            In.CANCEL_MKT_DATA: lambda f: self.market_data.pop(int(f[2]), None),
            In.REQ_MARKET_DATA_TYPE: lambda f: None,
            In.PLACE_ORDER: lambda f: self.broker.place(self.client_id, parse_place_order(f)),
            In.CANCEL_ORDER: lambda f: self.broker.cancel(self.client_id, int(f[2])),
            In.REQ_GLOBAL_CANCEL: lambda f: self.broker.global_cancel(),
            In.EXERCISE_OPTIONS: lambda f: settlement.exercise(self.broker, self.client_id, parse_exercise(f)),
            In.REQ_ACCOUNT_SUMMARY: self.on_account_summary,
            In.CANCEL_ACCOUNT_SUMMARY: lambda f: None,
            In.REQ_PNL: self.on_pnl,
            In.CANCEL_PNL: lambda f: self.pnl_subs.pop(int(f[1]), None),
            In.REQ_PNL_SINGLE: self.on_pnl_single,
            In.CANCEL_PNL_SINGLE: lambda f: self.pnl_single_subs.pop(int(f[1]), None),
        }

    # --- transport ----------------------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.sim.sessions.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.sim.sessions.discard(self)
        if self.registered and self.broker.connections.get(self.client_id) is self:
            del self.broker.connections[self.client_id]

    def data_received(self, data: bytes) -> None:
        if not self.prefix_seen:
            self.pre += data
            if len(self.pre) < len(API_PREFIX):
                return
            if not self.pre.startswith(API_PREFIX):
                self.abort()
                return
            data, self.prefix_seen = bytes(self.pre[len(API_PREFIX) :]), True
        for body in self.buffer.feed(data):
            self._on_frame(split_fields(body))

    def send(self, message: list[Field]) -> None:
        """Queue one message."""
        if self._holding is not None:
            self._holding.append(message)
            return
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(encode_frame(message))

    def abort(self) -> None:
        """Drop the connection without a goodbye (a crashed or restarted gateway)."""
        if self.transport is not None:
            self.transport.abort()

    def _on_frame(self, fields: list[str]) -> None:
        if not self.handshaken:
            self._handshake(fields)
            return
        if not self.pacer.admit(time.monotonic()):
            # TWS drops the message and says so; the client must slow down.
            self.send(wire.error(-1, ErrorCode.MAX_MESSAGE_RATE,
                                 f"Max rate of messages per second has been exceeded:max={self.pacer.limit} "
                                 f"rcvd={self.pacer.rate() + 1}"))
            return
        handler = self.handlers.get(int(fields[0]))
        if handler is None:
            log.debug("unhandled message %s", fields[:3])
            return
        slow = self.broker.faults.take_slow(int(fields[0]), self.client_id)
        if slow is not None:
            self._answer_late(slow, handler, fields)
            return
        self._dispatch(handler, fields)

    def _dispatch(self, handler: Handler, fields: list[str]) -> None:
        try:
            handler(fields)
        except Exception:  # isolate one bad request from the connection (IB answers 321 and carries on)
            log.exception("request %s failed", fields[:3])
            self.send(wire.error(-1, ErrorCode.INVALID_REQUEST, "Error validating request"))

    def _answer_late(self, slow: SlowAnswer, handler: Handler, fields: list[str]) -> None:
        """Serve the request now, as it stands, but hold its whole answer back ``slow.seconds`` (simulated)."""
        held: list[list[Field]] = []
        self._holding = held
        try:
            self._dispatch(handler, fields)
        finally:
            self._holding = None
        self.broker.journal.write("fault", "", kind="slow_answer", request=slow.request_name,
                                  client_id=self.client_id, seconds=slow.seconds, messages=len(held))

        def release() -> None:
            for message in held:
                self.send(message)

        self.sim.later(slow.seconds, release)

    def _handshake(self, fields: list[str]) -> None:
        _, high = parse_version_range(fields[0])
        if high < MIN_CLIENT_VERSION:
            self.abort()
            return
        self.handshaken = True
        stamp = self.broker.now().astimezone(None).strftime("%Y%m%d %H:%M:%S") + " UTC"
        self.send([min(high, SERVER_VERSION), stamp])

    # --- connect and sync ---------------------------------------------------------------------------------------
    def on_start_api(self, fields: list[str]) -> None:
        """startApi: register the client id, then nextValidId and managedAccounts."""
        client_id = FieldReader(fields, 2).integer()
        if client_id in self.broker.connections:
            self.send(wire.error(-1, ErrorCode.CLIENT_ID_IN_USE,
                                 f"Unable to connect as the client id {client_id} is already in use"))
            self.abort()
            return
        self.client_id = client_id
        self.registered = True
        self.broker.connections[client_id] = self
        next_id = self.sim.next_id_for(client_id)
        self.send(wire.managed_accounts(self.broker.config.accounts))
        self.send(wire.next_valid_id(next_id))
        for code, text in ((ErrorCode.MARKET_DATA_FARM_OK, "Market data farm connection is OK:usopt"),
                           (ErrorCode.SEC_DEF_FARM_OK, "Sec-def data farm connection is OK:secdefnj")):
            self.send(wire.error(-1, code, text))

    def on_positions(self, fields: list[str]) -> None:
        """reqPositions: every account's positions, then positionEnd; updates follow."""
        self.positions_sub = True
        for acct in self.broker.accounts.values():
            self._push_positions(acct.account_id)
        self.send(wire.position_end())

    def on_positions_multi(self, fields: list[str]) -> None:
        """reqPositionsMulti(reqId, account, modelCode): one account's positions (all if empty), then the end."""
        r = FieldReader(fields, 2)
        req_id, account = r.integer(), r.text()
        for acct in self.broker.accounts.values():
            if account in ("", acct.account_id):
                for p in acct.held():
                    self.send(wire.position_multi(req_id, acct.account_id, p.listing, float(p.qty),
                                                  float(p.avg_cost)))
        self.send(wire.position_multi_end(req_id))

    def _push_positions(self, account: str) -> None:
        """Current positions of ``account``, and a zero for each one that closed since the last push."""
        acct = self.broker.accounts[account]
        now_held = {p.listing.con_id: p for p in acct.held()}
        for (acct_id, con_id) in [k for k in self.sent_positions if k[0] == account and k[1] not in now_held]:
            listing = self.broker.chain.by_con_id(con_id)
            if listing is not None:
                self.send(wire.position(account, listing, 0.0, 0.0))
            self.sent_positions.discard((acct_id, con_id))
        for con_id, p in now_held.items():
            self.send(wire.position(account, p.listing, float(p.qty), float(p.avg_cost)))
            self.sent_positions.add((account, con_id))

    def on_open_orders(self, all_clients: bool) -> None:
        """reqOpenOrders / reqAllOpenOrders."""
        for order in self.broker.orders.values():
            if not order.is_done and (all_clients or order.client_id == self.client_id):
                self.send(wire_orders.open_order(order))
                self.send(wire_orders.order_status(order))
        self.send(wire.open_order_end())

    def on_completed_orders(self, fields: list[str]) -> None:
        """reqCompletedOrders: finished orders of every API client."""
        for order in self.broker.orders.values():
            if order.is_done:
                self.send(wire_orders.completed_order(order))
        self.send(wire.completed_orders_end())

    def on_account_updates(self, fields: list[str]) -> None:
        """reqAccountUpdates(subscribe, account)."""
        r = FieldReader(fields, 2)
        subscribe, account = r.flag(), r.text()
        self.account_updates = (account or self.broker.config.accounts[0]) if subscribe else None
        if self.account_updates is not None:
            self._push_account(self.account_updates)

    def _push_account(self, account: str) -> None:
        acct = self.broker.accounts.get(account)
        if acct is None:
            return
        for key, value in reporting.account_values(self.broker, acct).items():
            self.send(wire.account_value(key, value, "USD", account))
        for message in reporting.portfolio_messages(self.broker, acct):
            self.send(message)
        self.send(wire.account_time(self.broker.now().astimezone(None).strftime("%H:%M")))
        self.send(wire.account_download_end(account))

    def on_account_updates_multi(self, fields: list[str]) -> None:
        """reqAccountUpdatesMulti(reqId, account, modelCode, ledgerAndNLV)."""
        r = FieldReader(fields, 2)
        req_id, account = r.integer(), r.text()
        self.multi_subs[req_id] = account
        self._push_multi(req_id, account)

    def _push_multi(self, req_id: int, account: str) -> None:
        acct = self.broker.accounts.get(account)
        if acct is not None:
            for key, value in reporting.account_values(self.broker, acct).items():
                self.send(wire.account_update_multi(req_id, account, key, value, "USD"))
        self.send(wire.account_update_multi_end(req_id))

    def account_changed(self, account: str) -> None:
        """Push what this client subscribed to about ``account``."""
        if self.positions_sub:
            self._push_positions(account)
        if self.account_updates == account:
            self._push_account(account)
        for req_id, acct_id in self.multi_subs.items():
            if acct_id == account:
                self._push_multi(req_id, account)

    def on_executions(self, fields: list[str]) -> None:
        """reqExecutions(reqId, filter): today's executions (filtered by client id and account if given)."""
        r = FieldReader(fields, 2)
        req_id, client_filter, account_filter = r.integer(), r.integer(), r.text()
        for fill in self.broker.fills:
            if client_filter and fill.client_id != client_filter:
                continue
            if account_filter and fill.account != account_filter:
                continue
            self.send(wire_orders.exec_details(req_id, fill))
            self.send(wire_orders.commission_report(fill))
        self.send(wire.exec_details_end(req_id))

    # --- contracts and market data ------------------------------------------------------------------------------
    def on_contract_details(self, fields: list[str]) -> None:
        """reqContractDetails: every match, or 200 / 321 (BAG)."""
        req_id, spec = parse_contract_details(fields)
        if spec.sec_type == "BAG":
            self.send(wire.error(req_id, ErrorCode.INVALID_REQUEST,
                                 "Error validating request.-'bW' : cause - Invalid security type -"))
            return
        if spec.con_id:
            one = self.broker.chain.by_con_id(spec.con_id)
            found = [one] if one is not None else []
        else:
            found = self.broker.chain.search(spec.sec_type, spec.symbol, spec.expiry, spec.strike, spec.right)
        if not found:
            self.send(wire.error(req_id, ErrorCode.NO_SECURITY_DEFINITION,
                                 "No security definition has been found for the request"))
            return
        for listing in found:
            self.send(wire.contract_details(req_id, listing, spec.exchange))
        self.send(wire.contract_details_end(req_id))

    def on_sec_def_opt_params(self, fields: list[str]) -> None:
        """reqSecDefOptParams: the underlying's listed expiries and strikes (nothing for one not listed)."""
        req_id = int(fields[1])
        symbol = fields[2].upper() if len(fields) > 2 else SYMBOL  # reqId, underlyingSymbol, exchange, secType, conId
        chain = self.broker.chain
        if symbol in chain.strikes_of:
            expiries = [d.strftime("%Y%m%d") for d in chain.expiries]
            self.send(wire.sec_def_opt_params(req_id, symbol, expiries, [float(k) for k in chain.strikes_of[symbol]]))
        self.send(wire.sec_def_opt_params_end(req_id))

    def on_market_data(self, fields: list[str]) -> None:
        """reqMktData: one snapshot, or a subscription refreshed on every market tick."""
        req = parse_market_data(fields)
        if req.contract.sec_type == "BAG":
            legs = []
            for spec in req.legs:
                listing = self.broker.chain.by_con_id(spec.con_id)
                if listing is None:
                    break
                legs.append(Leg(listing, spec.action.upper(), spec.ratio or 1))
        else:
            found = self.broker.chain.by_con_id(req.contract.con_id) if req.contract.con_id else None
            if found is None and not req.contract.con_id:
                matches = self.broker.chain.search(req.contract.sec_type, req.contract.symbol, req.contract.expiry,
                                                   req.contract.strike, req.contract.right)
                found = matches[0] if len(matches) == 1 else None
            legs = [Leg(found, "BUY")] if found is not None else []
        if not legs:
            self.send(wire.error(req.req_id, ErrorCode.NO_SECURITY_DEFINITION,
                                 "No security definition has been found for the request"))
            return
        self.send(wire.market_data_type(req.req_id, 1))
        self.send_quote(req.req_id, legs)
        if req.snapshot:
            self.send(wire.snapshot_end(req.req_id))
        else:
            self.market_data[req.req_id] = legs

    def send_quote(self, req_id: int, legs: list[Leg]) -> None:
        """Ticks for one instrument or combo."""
        quote: Quote
        if len(legs) == 1 and legs[0].action == "BUY":
            listing: Listing = legs[0].listing
            quote = self.broker.quote(listing)
            if listing.is_option:
                greeks = self.broker.market.greeks(listing, self.broker.now())
                self.send(wire.option_computation(req_id, greeks, self.broker.market.vol,
                                                  self.broker.underlying(listing.symbol)))
        else:
            quote = combo_quote(legs, lambda leg: self.broker.quote(leg.listing))
        for message in wire.quote_ticks(req_id, quote):
            self.send(message)

    # --- account summary and P&L --------------------------------------------------------------------------------
    def on_account_summary(self, fields: list[str]) -> None:
        """reqAccountSummary(reqId, group, tags)."""
        r = FieldReader(fields, 2)
        req_id, _group, tags = r.integer(), r.text(), r.text()
        wanted = set(tags.split(",")) if tags else set(reporting.SUMMARY_TAGS)
        for acct in self.broker.accounts.values():
            for key, value in reporting.account_values(self.broker, acct).items():
                if key in wanted:
                    self.send(wire.account_summary(req_id, acct.account_id, key, value, "USD"))
        self.send(wire.account_summary_end(req_id))

    def on_pnl(self, fields: list[str]) -> None:
        """reqPnL(reqId, account, modelCode)."""
        req_id, account = int(fields[1]), fields[2]
        self.pnl_subs[req_id] = account
        self.push_pnl()

    def on_pnl_single(self, fields: list[str]) -> None:
        """reqPnLSingle(reqId, account, modelCode, conId)."""
        req_id, account, con_id = int(fields[1]), fields[2], int(fields[4] or 0)
        self.pnl_single_subs[req_id] = (account, con_id)
        self.push_pnl()

    def push_pnl(self) -> None:
        """Send every P&L subscription's current figures (IB sends them about once a second)."""
        for req_id, account in self.pnl_subs.items():
            acct = self.broker.accounts.get(account)
            if acct is not None:
                self.send(wire.pnl(req_id, *reporting.pnl_figures(self.broker, acct)))
        for req_id, (account, con_id) in self.pnl_single_subs.items():
            acct = self.broker.accounts.get(account)
            if acct is not None:
                self.send(wire.pnl_single(req_id, *reporting.pnl_single_figures(self.broker, acct, con_id)))

    def tick(self) -> None:
        """Refresh streaming quotes and P&L."""
        for req_id, legs in list(self.market_data.items()):
            self.send_quote(req_id, legs)
        self.push_pnl()
