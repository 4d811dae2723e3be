"""The simulator as a process: the command line, the HTTP control channel, the journal file, ib_insync."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from ib_async import IB
from ibsim_harness import DAY, LONG_STRIKE, SHORT_STRIKE, START, wait_until

from ibsim.testing import running_simulator


def test_cli_serves_a_counted_account_list_and_answers_control_requests(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    with running_simulator("DU%03d:300", start=START, journal_path=journal) as sim:
        assert len(sim.accounts) == 300
        assert sim.accounts[-1] == "DU300"

        async def body() -> None:
            ib = IB()
            await ib.connectAsync(sim.host, sim.port, clientId=5, timeout=10, raiseSyncErrors=True)
            try:
                assert len(ib.managedAccounts()) == 300
                sim.set_price(470.0)
                assert sim.state()["underlying"] == 470.0
                assert sim.inject("connectivity_lost")["kind"] == "connectivity_lost"
                sim.control("/funds", {"account": "DU002", "cash": "5"})
                assert sim.state()["accounts"]["DU002"]["values"]["TotalCashValue"] == "5.00"
            finally:
                ib.disconnect()

        asyncio.run(body())
        lines = sim.journal()
        assert [(e["event"], e["kind"]) for e in lines] == [("fault", "connectivity_lost")]
        assert json.loads(journal.read_text().splitlines()[0])["ts"].startswith("2026-03-17T")


def test_an_unknown_control_request_is_a_400_with_a_reason() -> None:
    import urllib.error

    with running_simulator(["DU001"], start=START) as sim:
        with pytest.raises(urllib.error.HTTPError) as raised:
            sim.control("/fault", {"kind": "meteor"})
        assert raised.value.code == 400
        assert "unknown fault kind" in json.loads(raised.value.read())["error"]


def test_ib_insync_0_9_86_connects_and_places_one_combo_order() -> None:
    import ib_insync

    with running_simulator(["DU001", "DU002"], start=START) as sim:

        async def body() -> None:
            ib = ib_insync.IB()
            await ib.connectAsync(sim.host, sim.port, clientId=9, timeout=10)
            try:
                short = ib_insync.Option("QQQ", DAY, SHORT_STRIKE, "P", "SMART", tradingClass="QQQ")
                long_ = ib_insync.Option("QQQ", DAY, LONG_STRIKE, "P", "SMART", tradingClass="QQQ")
                await ib.qualifyContractsAsync(short, long_)
                bag = ib_insync.Contract(secType="BAG", symbol="QQQ", exchange="SMART", currency="USD", comboLegs=[
                    ib_insync.ComboLeg(short.conId, 1, "SELL", "SMART"),
                    ib_insync.ComboLeg(long_.conId, 1, "BUY", "SMART")])
                order = ib_insync.LimitOrder("BUY", 1, -0.01, account="DU002", orderRef="insync-1")
                trade = ib.placeOrder(bag, order)
                await wait_until(trade.isDone)
                assert trade.orderStatus.status == "Filled"
                assert len(trade.fills) == 2
            finally:
                ib.disconnect()

        asyncio.run(body())
        [order_line] = [e for e in sim.journal() if e["event"] == "order"]
        assert (order_line["account"], order_line["order_ref"], order_line["limit"]) == ("DU002", "insync-1", -0.01)
