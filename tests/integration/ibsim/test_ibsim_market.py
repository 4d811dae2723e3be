"""Contracts and market data: qualifying 0-DTE options, the chain, snapshot and streaming quotes."""

from __future__ import annotations

import math

from ib_async import Contract, Stock
from ibsim_harness import DAY, LONG_STRIKE, SHORT_STRIKE, bull_put_spread, put, run, session, wait_until


def test_two_zero_dte_puts_qualify_with_distinct_con_ids() -> None:
    async def body() -> None:
        async with session() as (_sim, [ib]):
            short, long_ = put(SHORT_STRIKE), put(LONG_STRIKE)
            qualified = await ib.qualifyContractsAsync(short, long_)
            assert [c.conId for c in qualified] == [short.conId, long_.conId]
            assert short.conId != long_.conId > 0
            assert short.localSymbol == f"QQQ   {DAY[2:]}P00{SHORT_STRIKE}000"
            assert short.multiplier == "100"

    run(body)


def test_an_unlisted_strike_answers_error_200_and_qualifies_to_none() -> None:
    async def body() -> None:
        async with session() as (_sim, [ib]):
            errors: list[int] = []
            ib.errorEvent += lambda req_id, code, text, contract: errors.append(code)
            result = await ib.qualifyContractsAsync(put(5))
            assert result == [None]
            assert errors == [200]

    run(body)


def test_contract_details_of_a_bag_is_rejected_with_321() -> None:
    async def body() -> None:
        async with session() as (_sim, [ib]):
            errors: list[int] = []
            ib.errorEvent += lambda req_id, code, text, contract: errors.append(code)
            # ib_async treats 321 as a warning and keeps waiting, as against IBKR: watch the error, not the result.
            ib.client.reqContractDetails(ib.client.getReqId(), Contract(secType="BAG", symbol="QQQ", exchange="SMART"))
            await wait_until(lambda: errors == [321])

    run(body)


def test_option_chain_lists_today_and_the_next_days_with_dollar_strikes() -> None:
    async def body() -> None:
        async with session() as (_sim, [ib]):
            stock = Stock("QQQ", "SMART", "USD")
            await ib.qualifyContractsAsync(stock)
            [chain] = await ib.reqSecDefOptParamsAsync("QQQ", "", "STK", stock.conId)
            assert chain.expirations[0] == DAY
            assert len(chain.expirations) == 5
            assert {479.0, 480.0, 481.0} <= set(chain.strikes)
            assert all(b - a == 1.0 for a, b in zip(chain.strikes, chain.strikes[1:], strict=False))

    run(body)


def test_snapshot_quotes_are_two_sided_around_the_model() -> None:
    async def body() -> None:
        async with session() as (_sim, [ib]):
            short, long_ = put(SHORT_STRIKE), put(LONG_STRIKE)
            await ib.qualifyContractsAsync(short, long_)
            tickers = await ib.reqTickersAsync(short, long_)
            for t in tickers:
                assert 0 <= t.bid < t.ask
                assert t.modelGreeks is not None
                assert t.modelGreeks.undPrice == 480.0
            assert tickers[0].bid > tickers[1].bid  # the higher put is worth more

    run(body)


def test_streaming_quotes_follow_a_price_move() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            short, _ = put(SHORT_STRIKE), None
            await ib.qualifyContractsAsync(short)
            ticker = ib.reqMktData(short)
            await wait_until(lambda: not math.isnan(ticker.bid))
            before = ticker.ask
            sim.set_price(470.0)
            await wait_until(lambda: ticker.ask > before + 5)

    run(body)


def test_a_bag_has_a_combo_quote_with_a_negative_price_for_the_credit_spread() -> None:
    async def body() -> None:
        async with session() as (_sim, [ib]):
            bag, _, _ = await bull_put_spread(ib)
            [ticker] = await ib.reqTickersAsync(bag)
            assert ticker.bid < ticker.ask < 0

    run(body)
