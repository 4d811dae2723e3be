"""The fill-quality table an operator reads (the admin API's signal page, served by functions-framework) against the
broker's own record: after the real executor filled a signal on ibsim, every follower's credit, its distance from the
best fill and its time to fill are the ones computed from ibsim's journal."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import requests
from executor_harness import Executor, advisor, follower, make_signal, publish, ref, seed, settled, wait_for
from google.cloud import firestore

from ibsim.testing import SimulatorProcess
from identity.testing import SessionServers, TokenFactory
from spreadpilot.clock import SimClock
from spreadpilot.signal_days import DayClaim, SignalDays
from stack.local_stack import LocalStack

CENT = Decimal("0.01")


def journal_credits(sim: SimulatorProcess) -> dict[str, tuple[Decimal, datetime]]:
    """Per orderRef: the credit per spread its leg executions add up to, and when the last one happened."""
    cash: dict[str, Decimal] = defaultdict(Decimal)
    spreads: dict[str, int] = defaultdict(int)
    last: dict[str, datetime] = {}
    for e in sim.journal():
        if e["event"] != "fill":
            continue
        order_ref, qty, price = str(e["order_ref"]), int(e["qty"]), Decimal(str(e["price"]))
        cash[order_ref] += price * qty * (1 if e["action"] == "SELL" else -1)
        spreads[order_ref] += qty if e["action"] == "SELL" else 0
        last[order_ref] = max(last.get(order_ref, datetime.fromisoformat(e["ts"])), datetime.fromisoformat(e["ts"]))
    return {r: ((cash[r] / spreads[r]).quantize(CENT), last[r]) for r in cash if spreads[r]}


def test_the_fill_quality_the_app_shows_is_the_one_the_brokers_journal_gives(
    clean_stack: LocalStack, firestore_db: firestore.Client, simulator: Callable[..., SimulatorProcess],
    executors: Callable[..., Executor], serve_function: Callable[..., str], clock: SimClock,
) -> None:
    followers = [follower(n) for n in range(1, 7)]
    sim = simulator([f.ibkr_account for f in followers])
    seed(firestore_db, followers, [advisor(sim)])
    executors()
    sig = make_signal(qty=2)
    days, claim = SignalDays(firestore_db, "signal_poller"), DayClaim(signal=sig, row_number=2, row={})
    assert days.claim_day(claim, clock.now())  # as the poller brings it: claimed, published, recorded
    days.record_published(claim, publish(clean_stack.project, sig), clock.now())
    wait_for(settled(firestore_db, sig, followers), 90, "every follower's entry to settle")

    api = serve_function("admin_api", SessionServers.admin_api_env(clean_stack.project))
    issuer = SessionServers.issuer_for(clean_stack.project).issuer
    token = TokenFactory(issuer).valid("viewer", "viewer@spreadpilot.local")
    answer = requests.get(f"{api}/api/v1/signals/{sig.signal_id}", timeout=30,
                          headers={"Authorization": f"Bearer {token}", "Origin": SessionServers.web_origin()})
    assert answer.status_code == 200, answer.text
    table = answer.json()["fill_quality"]
    shown = {r["follower_id"]: r for r in table["rows"]}
    assert table["unreadable"] == []

    broker = journal_credits(sim)
    credits = {f.id: broker[ref(sig, f.id)][0] for f in followers}
    best = max(credits.values())
    for f in followers:
        row = shown[f.id]
        assert Decimal(row["credit"]) == credits[f.id], f.id
        assert Decimal(row["vs_best"]) == credits[f.id] - best, f.id
        created = datetime.fromisoformat(str(firestore_db.collection("orders").document(ref(sig, f.id)).get()
                                             .get("created_at")))
        filled_at = broker[ref(sig, f.id)][1]
        # the executor marks the intent filled when it sees the last execution: a moment after the broker made it
        assert 0 <= row["to_fill_s"] - (filled_at - created).total_seconds() < 1.0 * clock.speed, f.id
    assert Decimal(table["summary"]["credit_spread"]) == best - min(credits.values())
    assert table["summary"]["filled"] == len(followers)
