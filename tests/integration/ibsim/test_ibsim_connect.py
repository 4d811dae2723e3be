"""Connecting: handshake, everything connectAsync syncs, many accounts, several client ids."""

from __future__ import annotations

from ib_async import IB
from ibsim_harness import GUARD_S, config, run, session, wait_until

from ibsim.testing import simulator_in_process


def test_one_account_connects_and_every_startup_request_completes() -> None:
    async def body() -> None:
        async with session() as (_sim, [ib]):
            assert ib.isConnected()
            assert ib.managedAccounts() == ["DU001"]
            assert ib.client.serverVersion() == 176
            values = {v.tag: v.value for v in ib.accountValues("DU001")}
            assert values["NetLiquidation"] == "100000.00"
            assert values["AvailableFunds"] == "100000.00"

    run(body)


def test_many_accounts_on_one_port_are_all_managed_and_synced() -> None:
    accounts = [f"DU{i:03d}" for i in range(1, 21)]

    async def body() -> None:
        async with session(config(accounts)) as (_sim, [ib]):
            assert ib.managedAccounts() == accounts
            summary = await ib.accountSummaryAsync()
            assert {v.account for v in summary if v.tag == "NetLiquidation"} == set(accounts)

    run(body)


def test_several_client_ids_connect_at_once_and_a_duplicate_id_is_refused() -> None:
    async def body() -> None:
        async with session(client_ids=(1, 2, 7)) as (sim, clients):
            assert all(ib.isConnected() for ib in clients)
            assert sorted(sim.broker.connections) == [1, 2, 7]
            errors: list[int] = []
            dup = IB()
            dup.errorEvent += lambda req_id, code, text, contract: errors.append(code)
            try:
                await dup.connectAsync("127.0.0.1", sim.port, clientId=2, timeout=1)
            except (ConnectionError, TimeoutError):
                pass
            finally:
                dup.disconnect()
            assert errors == [326]
            assert not dup.isConnected()
            assert clients[1].isConnected()

    run(body)


def test_current_time_and_next_ids_are_answered() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            server_time = await ib.reqCurrentTimeAsync()
            assert abs(server_time.timestamp() - sim.now().timestamp()) < 5
            first = ib.client.getReqId()
            ib.client.reqIds(1)
            assert ib.client.getReqId() > first

    run(body)


def test_a_client_reconnects_after_it_disconnects() -> None:
    async def body() -> None:
        async with simulator_in_process(config(), start="2026-03-17T10:00:00-04:00") as sim:
            for _ in range(2):
                ib = IB()
                await ib.connectAsync("127.0.0.1", sim.port, clientId=3, timeout=GUARD_S, raiseSyncErrors=True)
                assert ib.isConnected()
                ib.disconnect()
                # As with a real gateway, a client id is free again only once the server has seen the close.
                await wait_until(lambda: 3 not in sim.broker.connections)

    run(body)


def test_a_client_that_ignores_pacing_gets_error_100_for_the_excess_messages() -> None:
    async def body() -> None:
        async with session(config(max_message_rate=50)) as (_sim, [ib]):
            codes: list[int] = []
            ib.errorEvent += lambda req_id, code, text, contract: codes.append(code)
            ib.client.MaxRequests = 0  # switch off ib_async's own throttle, as a careless client would
            for _ in range(60):
                ib.client.reqCurrentTime()
            await wait_until(lambda: len(codes) >= 10)
            assert set(codes) == {100}
            assert ib.isConnected()

    run(body)
