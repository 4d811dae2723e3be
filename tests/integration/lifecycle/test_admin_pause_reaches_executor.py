"""Across components: an admin pausing a follower in the admin API stops that follower's next entry in the executor."""

from __future__ import annotations

from collections.abc import Callable

import requests
from google.cloud import firestore
from lifecycle_harness import Executor, controls, follower, intents, make_signal, orders, publish_signal, seed, wait_for

from ibsim.testing import SimulatorProcess
from identity.testing import SessionServers, TokenFactory
from spreadpilot.clock import SimClock
from spreadpilot.models import IntentState
from stack.local_stack import LocalStack

START = "2026-03-17T09:40:00-04:00"


def test_a_pause_from_the_admin_api_is_applied_by_the_executor_and_skips_that_followers_entry(
        clean_stack: LocalStack, firestore_db: firestore.Client, serve_function: Callable[..., str],
        world: Callable[..., tuple[SimClock, SimulatorProcess]], executors: Callable[..., Executor]) -> None:
    clock, sim = world(START, 20, ["DU001", "DU002"], "--underlying", "487")
    seed(firestore_db, [follower(1), follower(2)], sim)
    executor = executors(clock, min_credit="0.10")
    api = serve_function("admin_api", SessionServers.admin_api_env(clean_stack.project))
    token = TokenFactory(SessionServers.issuer_for(clean_stack.project).issuer).valid("admin")

    response = requests.post(f"{api}/api/v1/controls/pause", json={"scope": "f01", "reason": "client on holiday"},
                             headers={"Authorization": f"Bearer {token}", "Origin": SessionServers.web_origin()},
                             timeout=30)
    assert response.status_code == 202
    wait_for(lambda: controls(firestore_db, "f01").get("entries_paused") is True, 30, "the executor to apply the pause")

    publish_signal(clean_stack.project, make_signal(qty=1))
    wait_for(lambda: {i.follower_id: i.state for i in intents(firestore_db)}.get("f02") == IntentState.FILLED, 60,
             "the other follower's entry to fill")
    states = {i.follower_id: i for i in intents(firestore_db)}
    assert states["f01"].state is IntentState.SKIPPED
    assert "paused" in states["f01"].reason
    assert [o for o in orders(sim, "entry-") if o.get("account") == "DU001"] == []
    assert controls(firestore_db, "f01")["updated_by"] == "admin@spreadpilot.local"
    assert executor.terminate() == 0
