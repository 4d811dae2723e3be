"""One seeded trading day: followers on advisor gateways, their market, the day's signal(s) and kill switches.

The day starts at 09:29:50 ET (virtual t = 0); the entry window opens at t = 10 s; the signal comes
within the first 30 s (so about a third of the runs get it before the window opens). Every number is seeded, so a
seed is a complete description of the world; ``plant_malformed`` writes the raw documents a ``doc.*`` fault asks
for (they bypass the models, as a hand edit in the console would).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from executor.broker import HeldPosition
from executor.sizing import contracts_for
from faultsim.faults import Fault, Plan, Shape
from faultsim.firestore import MemoryFirestore
from faultsim.gateway import Market
from spreadpilot.clock import NEW_YORK
from spreadpilot.models import (
    Follower,
    FollowerState,
    Gateway,
    IntentState,
    Right,
    Signal,
    Spread,
    Strategy,
    make_intent_id,
    make_signal_id,
)

DAY = date(2026, 3, 17)
START = datetime(2026, 3, 17, 9, 29, 50, tzinfo=NEW_YORK)
IBAN = "DE89370400440532013000"


@dataclass
class World:
    """Everything a seed decides before the run starts."""

    seed: int
    followers: list[Follower]
    gateways: list[Gateway]
    accounts_on: dict[str, list[str]]
    markets: dict[str, Market]
    signal: Signal
    signal_at: float
    second_signal: Signal
    paused: set[str] = field(default_factory=set)  # followers with controls/{id}.entries_paused
    holdings: dict[str, list[HeldPosition]] = field(default_factory=dict)  # account → positions held before today
    malformed: dict[str, str] = field(default_factory=dict)  # "collection/id" → why it is malformed

    def shape(self) -> Shape:
        """What the fault planner needs."""
        on: dict[str, int] = {g.id: 0 for g in self.gateways}
        for f in self.followers:
            on[f.gateway_id] += 1
        trading = tuple(f.id for f in self.followers if f.enabled and f.state is FollowerState.ACTIVE)
        return Shape(tuple(g.id for g in self.gateways), on, tuple(f.id for f in self.followers),
                     {g: tuple(a) for g, a in self.accounts_on.items()}, self.signal_at, trading)

    def follower(self, follower_id: str) -> Follower:
        """One follower by id."""
        return next(f for f in self.followers if f.id == follower_id)


def _signal(rng: random.Random, at: datetime, avoid: Signal | None = None) -> Signal:
    while True:
        if rng.random() < 0.5:
            short = Decimal(rng.randint(480, 488))
            spread = Spread(strategy=Strategy.BULL_PUT, short_strike=short, long_strike=short - rng.choice([2, 5]))
        else:
            short = Decimal(rng.randint(492, 500))
            spread = Spread(strategy=Strategy.BEAR_CALL, short_strike=short, long_strike=short + rng.choice([2, 5]))
        qty = rng.randint(1, 3)
        signal = Signal(signal_id=make_signal_id(DAY, "QQQ", spread, qty), date=DAY, ticker="QQQ", spread=spread,
                        qty_per_leg=qty, source_row=2, detected_at=at)
        if avoid is None or signal.signal_id != avoid.signal_id:
            return signal


def _close_call(market: Market, follower: Follower, required: Decimal, rng: random.Random) -> None:
    """Funds within 10 % of the spread's margin either way: only a what-if can tell whether it fits."""
    market.funds[follower.ibkr_account] = (required * Decimal(rng.randint(90, 110)) / 100).quantize(Decimal("0.01"))


def build_world(seed: int) -> World:
    """The world of ``seed``: 3–12 followers on 1–3 gateways, one signal (and a possible second one)."""
    rng = random.Random(f"{seed}:world")
    n_gateways = rng.randint(1, 3)
    gateways = [Gateway(id=f"gw-{i}", port=4002 + i, client_id=1 + i) for i in range(1, n_gateways + 1)]
    followers: list[Follower] = []
    accounts_on: dict[str, list[str]] = {g.id: [] for g in gateways}
    for i in range(1, rng.randint(3, 12) + 1):
        gateway = gateways[(i - 1) % n_gateways if i <= n_gateways else rng.randrange(n_gateways)]
        account = f"DU{1000 + i}"
        accounts_on[gateway.id].append(account)
        followers.append(Follower(
            id=f"f{i:02d}", name=f"Follower {i}", email=f"f{i}@example.com", iban=IBAN, commission_pct=Decimal(20),
            enabled=rng.random() > 0.08, state=FollowerState.PAUSED if rng.random() < 0.05 else FollowerState.ACTIVE,
            gateway_id=gateway.id, ibkr_account=account, multiplier=Decimal(rng.choice(["0.5", "1", "1", "1", "2"])),
            max_contracts=rng.randint(1, 6)))
    for j, g in enumerate(gateways):
        accounts_on[g.id].append(f"DU{9000 + j}")  # an advisor account that follows nobody
    markets = {}
    for g in gateways:
        mid = Decimal(rng.randint(80, 125)) / 100 if rng.random() > 0.05 else Decimal("0.60")
        market = Market(mid_credit=mid)
        for account in accounts_on[g.id]:
            market.fill_credit[account] = mid - Decimal(rng.randint(0, 14)) / 100
            if rng.random() < 0.1:
                market.partial.add(account)
            market.funds[account] = Decimal(400) if rng.random() < 0.08 else Decimal(10**6)
        markets[g.id] = market
    signal_at = round(rng.uniform(0.0, 30.0), 3)
    detected = datetime.fromtimestamp(START.timestamp() + signal_at - 1.0, NEW_YORK)
    signal = _signal(rng, detected)
    second = _signal(rng, detected, avoid=signal)
    paused = {f.id for f in followers if rng.random() < 0.05}
    holdings: dict[str, list[HeldPosition]] = {}
    for f in followers:
        contracts = contracts_for(signal.qty_per_leg, f.multiplier, f.max_contracts)
        if rng.random() < 0.1 and contracts:  # funds close to the spread's margin: only a what-if can tell
            _close_call(markets[f.gateway_id], f, signal.spread.width * 100 * contracts, rng)
        if rng.random() < 0.15:  # other positions in the account (an old hedge): the local margin rule is not enough
            holdings[f.ibkr_account] = [HeldPosition(f.ibkr_account, 600_000_000 + rng.randint(1, 999), 1, "OPT",
                                                     Right.PUT, Decimal(400), date(2026, 6, 19))]
    # more funds close to the margin, from their own stream (every other draw stays as it was): the other way to a
    # what-if, since an account holding a hedge of its own is now paused as foreign activity before it trades
    close_calls = random.Random(f"{seed}:close-calls")
    for f in followers:
        contracts = contracts_for(signal.qty_per_leg, f.multiplier, f.max_contracts)
        if close_calls.random() < 0.1 and contracts:
            _close_call(markets[f.gateway_id], f, signal.spread.width * 100 * contracts, close_calls)
    # daily-loss limits from their own stream (every other draw of the world stays as it was): most followers keep
    # the default, some have one a bad exit reaches, a few have the breaker off (0)
    limits = random.Random(f"{seed}:limits")
    followers = [f.model_copy(update={"daily_loss_limit": Decimal(limits.choice([2000, 2000, 0, 150, 300, 600]))})
                 for f in followers]
    return World(seed, followers, gateways, accounts_on, markets, signal, signal_at, second, paused, holdings=holdings)


def seed_store(world: World, db: MemoryFirestore) -> None:
    """Write the day's configuration documents (no faults: the board is not armed yet)."""
    for follower in world.followers:
        db.plant("followers", follower.id, follower.to_doc())
    for gateway in world.gateways:
        db.plant("gateways", gateway.id, gateway.to_doc())
    for follower_id in sorted(world.paused):
        db.plant("controls", follower_id, {"entries_paused": True, "reason": "paused by an operator"})


def plant_malformed(world: World, plan: Plan, db: MemoryFirestore) -> None:
    """The raw documents of the plan's ``doc.*`` faults."""
    for fault in plan.faults:
        if fault.kind == "doc.malformed_follower":
            _malformed_follower(world, fault, db)
        elif fault.kind == "doc.malformed_intent":
            _malformed_intent(world, fault, db)


def _malformed_follower(world: World, fault: Fault, db: MemoryFirestore) -> None:
    n = len(world.followers) + len([p for p in world.malformed if p.startswith("followers/")]) + 1
    doc_id = f"f{n:02d}"
    base: dict[str, Any] = world.followers[0].to_doc() | {"id": doc_id, "name": f"Follower {n}", "enabled": True,
                                                          "state": "active", "ibkr_account": f"DU{1000 + n}"}
    variant = fault.param("variant")
    if variant == "multiplier_abc":
        base["multiplier"] = "abc"
    elif variant == "missing_account":
        del base["ibkr_account"]
    else:
        base["email"] = "not-an-email"
    db.plant("followers", doc_id, base)
    world.malformed[f"followers/{doc_id}"] = str(variant)


def _malformed_intent(world: World, fault: Fault, db: MemoryFirestore) -> None:
    follower = world.follower(fault.param("follower"))
    variant = fault.param("variant")
    now = START.isoformat()
    doc: dict[str, Any] = {"kind": "entry", "signal_id": world.signal.signal_id, "follower_id": follower.id,
                           "gateway_id": follower.gateway_id, "account": follower.ibkr_account,
                           "spread": world.signal.spread.to_doc(), "expiry": DAY.isoformat(), "contracts": 1,
                           "state": IntentState.PLANNED.value, "created_at": now, "updated_at": now}
    if variant == "today_unknown_state":
        intent_id = make_intent_id(world.signal.signal_id, follower.id)
        doc["state"] = "half_filled"
    elif variant == "today_missing_spread":
        intent_id = make_intent_id(world.signal.signal_id, follower.id)
        del doc["spread"]
    else:  # an older day's intent left open by a previous version, without the fields today's model needs
        intent_id = f"entry-20260316-QQQ-bull_put-00000000-{follower.id}"
        doc = {"kind": "entry", "signal_id": "20260316-QQQ-bull_put-00000000", "follower_id": follower.id,
               "state": IntentState.WORKING.value, "created_at": now}
    doc["intent_id"] = intent_id
    db.plant("orders", intent_id, doc)
    world.malformed[f"orders/{intent_id}"] = str(variant)
