"""The invariants every run must keep, each checked on the run's ``Evidence`` with its own message.

Each check returns (applicable, violations): a check is *applicable* when the run gave it something to check (for
the summary's "exercised under" sets). Counting is on the broker's journal and the raw store, never on what the
executor believes.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from executor.intents import entry_day_key
from faultsim.evidence import Evidence, ExecutionFacts, LinkFacts
from spreadpilot.clock import NEW_YORK
from spreadpilot.models import IntentState, OrderIntent


@dataclass(frozen=True)
class Violation:
    """One invariant broken, said so that an engineer can find it."""

    invariant: str
    message: str


Check = Callable[[Evidence], tuple[bool, list[Violation]]]
INVARIANTS: dict[str, str] = {
    "a.one_order_per_intent": "at most one opening order per intent at the broker (journal, modifies excluded)",
    "b.intent_settles": "every trading follower has an intent that ends final, or unknown with a CRITICAL alert",
    "b.unknown_has_order": "an intent is (or ever was) unknown only if an order for it was sent to the broker",
    "c.fills_recorded": "every leg execution of our orders is in fills exactly once (a correction replaces)",
    "c.fill_commission": "every recorded fill carries the broker's commission",
    "d.gateway_ready": "every gateway is ready again within a bounded time after its faults clear",
    "e.memory_matches_store": "each tracked intent in a surviving process equals its stored document",
    "f.one_spread_per_day": "at most one day's spread per follower account",
    "g.malformed_isolated": "a malformed document stops nobody else and raises an alert naming it",
    "h.outcome_matches_broker": "a final intent agrees with the broker: filled quantity, no order still working",
    "i.entry_not_held": "a recorded entry goes to the broker at once, whatever struck other followers' documents",
    "j.close_within_position": "no close order larger than what the account holds, less what is being closed",
    "k.others_positions_kept": "positions an account held before the day (not SpreadPilot's) are never traded",
    "l.closed_when_asked": "after an exit comes due or a flatten is confirmed, the accounts end flat, with one "
                           "answer to the operator",
    "m.action_ends": "every operator action (and every part handed to another executor) ends in a final state",
    "n.breaker_trips": "a follower whose broker P&L today reached minus its daily-loss limit ends with its entries "
                       "paused and one CRITICAL breaker alert",
    "o.foreign_paused": "a follower whose account holds a foreign order or position from the start ends with its "
                        "entries paused "
                        "and one CRITICAL foreign-activity alert; no follower is alerted without foreign activity",
}
# Seconds from an entry's record (or the window's opening) to its first order that need no excuse: a quote, a
# what-if and the pacing of a busy gateway take well under this; a redelivery (10 s or more after a nack) or an
# adoption pass (every 30 s) does not.
PROMPT_S = 6.0


def _parse(doc: dict[str, object]) -> OrderIntent | None:
    try:
        return OrderIntent.model_validate({k: v for k, v in doc.items() if k in OrderIntent.model_fields})
    except ValidationError:
        return None


def _intents(ev: Evidence) -> dict[str, OrderIntent]:
    """Every stored intent that parses (a planted malformed one may have been repaired meanwhile)."""
    parsed = {}
    for doc_id, doc in ev.intents.items():
        intent = _parse(doc)
        if intent is not None:
            parsed[doc_id] = intent
    return parsed


def _blocked(ev: Evidence) -> set[str]:
    """Followers whose intent id for the day is taken by a planted malformed document."""
    taken = {p.split("/", 1)[1] for p in ev.malformed if p.startswith("orders/")} & ev.entry_refs
    return {f.follower_id for f in ev.followers.values() if any(ref.endswith(f"-{f.follower_id}") for ref in taken)}


def _opening_orders(ev: Evidence) -> dict[str, dict[int, dict[str, Any]]]:
    ours = ev.ours()
    by_ref: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    for line in ev.journal:
        if line["event"] == "order" and not line.get("what_if") and not line.get("modify") \
                and line.get("order_ref") in ours:
            by_ref[str(line["order_ref"])].setdefault(int(line["perm_id"]), line)
    return by_ref


def _et(ts: str) -> str:
    """An ISO timestamp as New York time of day, to the millisecond."""
    return datetime.fromisoformat(ts).astimezone(NEW_YORK).strftime("%H:%M:%S.%f")[:-3] + " ET"


def one_order_per_intent(ev: Evidence) -> tuple[bool, list[Violation]]:
    """(a) Distinct orders (permIds) per orderRef at the broker."""
    orders = _opening_orders(ev)
    out = []
    for ref, by_perm in sorted(orders.items()):
        if len(by_perm) > 1:
            how = ", ".join(f"perm {p} order {o['order_id']} client {o['client_id']} at {_et(o['ts'])}"
                            for p, o in sorted(by_perm.items()))
            out.append(Violation("a.one_order_per_intent", f"orderRef {ref}: {len(by_perm)} orders at the broker "
                                                           f"({how})"))
    return bool(orders), out


def one_spread_per_day(ev: Evidence) -> tuple[bool, list[Violation]]:
    """(f) Distinct entry intents with an order, per account."""
    per_account: dict[str, set[str]] = defaultdict(set)
    for ref, by_perm in _opening_orders(ev).items():
        if ref.startswith(f"entry-{ev.day}"):
            for order in by_perm.values():
                per_account[str(order["account"])].add(ref)
    out = [Violation("f.one_spread_per_day", f"account {account}: {len(refs)} of the day's spreads sent "
                                             f"({', '.join(sorted(refs))})")
           for account, refs in sorted(per_account.items()) if len(refs) > 1]
    return bool(per_account), out


def intent_settles(ev: Evidence) -> tuple[bool, list[Violation]]:
    """(b) Every trading follower has an intent; every intent ends final or unknown-and-alerted."""
    intents = _intents(ev)
    blocked = _blocked(ev)
    out = []
    dead = f" (signal message dead-lettered: {', '.join(ev.dead_lettered)})" if ev.dead_lettered else ""
    for follower in sorted(ev.followers.values(), key=lambda f: f.follower_id):
        if not follower.trades or follower.follower_id in blocked:
            continue
        if not any(i.follower_id == follower.follower_id for i in intents.values()):
            out.append(Violation("b.intent_settles", f"follower {follower.follower_id} ({follower.account}) has no "
                                                     f"intent for the day{dead}"))
    for ref, intent in sorted(intents.items()):
        if intent.state.final:
            continue
        if intent.state is IntentState.UNKNOWN:
            if not ev.critical_alert_for(ref):
                out.append(Violation("b.intent_settles", f"intent {ref} ({intent.follower_id}) is unknown without a "
                                                         f"CRITICAL alert"))
            continue
        last = intent.history[-1].note if intent.history else ""
        out.append(Violation("b.intent_settles", f"intent {ref} ({intent.follower_id}) stuck in {intent.state} "
                                                 f"(last note: {last[:80]!r}){dead}"))
    return bool(ev.followers), out


def unknown_has_order(ev: Evidence) -> tuple[bool, list[Violation]]:
    """(b) ``unknown`` means the broker may have an order: one must have been sent.

    Checked over each intent's whole history, not only its final state: an intent goes SUBMITTED before anything is
    sent, so a step from PLANNED straight to UNKNOWN claims an outcome nobody can be unsure of (a slow quote taken
    for a lost order), even if a later reconciliation heals it.
    """
    sent = {s["order_ref"] for s in ev.sent if s["op"] == "place"}
    intents = _intents(ev)
    unknown = {ref: i for ref, i in intents.items() if i.state is IntentState.UNKNOWN}
    out = [Violation("b.unknown_has_order", f"intent {ref} ({i.follower_id}) is unknown but no order for it was "
                                            f"ever sent (last note: {i.history[-1].note[:80]!r})")
           for ref, i in sorted(unknown.items()) if ref not in sent and i.history]
    went_unknown = False
    for ref, intent in sorted(intents.items()):
        steps = [(a, b) for a, b in itertools.pairwise(intent.history) if b.state is IntentState.UNKNOWN]
        went_unknown = went_unknown or bool(steps)
        early = [b for a, b in steps if a.state is IntentState.PLANNED]
        if early:
            out.append(Violation("b.unknown_has_order", f"intent {ref} ({intent.follower_id}) went from planned to "
                                                        f"unknown before any order was sent, {len(early)}x "
                                                        f"({early[0].note[:80]!r})"))
    return bool(unknown) or went_unknown, out


def _latest(executions: list[ExecutionFacts]) -> dict[str, ExecutionFacts]:
    latest: dict[str, ExecutionFacts] = {}
    for e in executions:
        if e.sec_type == "BAG":
            continue
        if e.base not in latest or e.version > latest[e.base].version:
            latest[e.base] = e
    return latest


def fills_recorded(ev: Evidence) -> tuple[bool, list[Violation]]:
    """(c) Each leg execution of ours recorded once (by execId; a correction replaces); nothing invented."""
    ours = ev.ours()
    latest = {b: e for b, e in _latest(ev.executions).items() if e.order_ref in ours and not e.foreign}
    by_base: dict[str, list[str]] = defaultdict(list)
    for exec_id in ev.fills:
        by_base[exec_id.rsplit(".", 1)[0]].append(exec_id)
    out = []
    for base, e in sorted(latest.items()):
        recorded = sorted(by_base.get(base, []))
        where = f"orderRef {e.order_ref}, account {e.account}, {e.gateway_id}"
        if not recorded:
            out.append(Violation("c.fills_recorded", f"execution {e.exec_id} ({where}) is not in fills"))
        elif len(recorded) > 1:
            out.append(Violation("c.fills_recorded", f"execution {base} ({where}) recorded {len(recorded)} times "
                                                     f"({', '.join(recorded)}): a correction must replace"))
        else:
            doc = ev.fills[recorded[0]]
            if int(str(doc.get("qty"))) != e.qty or Decimal(str(doc.get("price"))) != e.price:
                out.append(Violation("c.fills_recorded", f"fills/{recorded[0]} has qty {doc.get('qty')} at "
                                                         f"{doc.get('price')}, the broker {e.qty} at {e.price} "
                                                         f"({where})"))
    known = {e.exec_id for e in ev.executions}
    for exec_id, doc in sorted(ev.fills.items()):
        if exec_id not in known:
            out.append(Violation("c.fills_recorded", f"fills/{exec_id} (orderRef {doc.get('intent_id')}) has no "
                                                     f"execution at the broker"))
    return bool(latest) or bool(ev.fills), out


def fill_commission(ev: Evidence) -> tuple[bool, list[Violation]]:
    """(c) The commission report reached the recorded fill."""
    ours = ev.ours()
    latest = {b: e for b, e in _latest(ev.executions).items() if e.order_ref in ours and not e.foreign}
    out = []
    for base, e in sorted(latest.items()):
        docs = [d for exec_id, d in ev.fills.items() if exec_id.rsplit(".", 1)[0] == base]
        if len(docs) == 1 and Decimal(str(docs[0].get("commission", "0"))) != e.commission:
            out.append(Violation("c.fill_commission", f"fills/{e.exec_id} commission {docs[0].get('commission')}, "
                                                      f"the broker {e.commission} (orderRef {e.order_ref})"))
    return bool(latest), out


def foreign_recorded(ev: Evidence) -> tuple[int, int]:
    """(recorded, total) foreign leg executions (reported, not yet an invariant: the ledger is being built)."""
    foreign = [e for e in _latest(ev.executions).values() if e.foreign or e.order_ref not in ev.ours()]
    recorded = sum(1 for e in foreign if any(x.rsplit(".", 1)[0] == e.base for x in ev.fills))
    return recorded, len(foreign)


def gateway_ready(ev: Evidence) -> tuple[bool, list[Violation]]:
    """(d) After the faults clear, every gateway is ready in some surviving process, and no process holds a
    connection that it never makes ready (connected but not reconciled: nothing will ever be sent on it)."""
    out = []
    by_gateway: dict[str, list[LinkFacts]] = defaultdict(list)
    for link in ev.links:
        by_gateway[link.gateway_id].append(link)
    for gateway_id, links in sorted(by_gateway.items()):
        if not any(link.ready and link.owned for link in links):
            states = "; ".join(f"{link.pid}: connected={link.connected} ready={link.ready} owned={link.owned}"
                               + (f", {link.link_error}" if link.link_error else "") for link in links)
            out.append(Violation("d.gateway_ready", f"gateway {gateway_id} ready in no process "
                                                    f"{links[0].seconds_after_clear:.0f} s after its faults cleared "
                                                    f"({states})"))
        for link in links:
            if link.connected and link.owned and not link.ready and any(o.ready and o.owned for o in links):
                why = f" ({link.link_error})" if link.link_error else ""
                out.append(Violation("d.gateway_ready", f"gateway {gateway_id} connected but never ready in process "
                                                        f"{link.pid}{why}"))
    return bool(ev.links), out


def memory_matches_store(ev: Evidence) -> tuple[bool, list[Violation]]:
    """(e) A surviving process's book equals the store."""
    out = []
    for pid, book in sorted(ev.books.items()):
        for ref, intent in sorted(book.items()):
            doc = ev.intents.get(ref)
            stored = _parse(doc) if doc is not None else None
            if stored == intent:
                continue
            if stored is None:
                why = "absent" if doc is None else "does not parse"
                out.append(Violation("e.memory_matches_store", f"process {pid} tracks {ref} in {intent.state} but "
                                                               f"the stored document is {why}"))
                continue
            diff = [f"{name}: memory {getattr(intent, name)!r} store {getattr(stored, name)!r}"
                    for name in OrderIntent.model_fields if getattr(intent, name) != getattr(stored, name)
                    and name != "history"]
            if intent.history != stored.history:
                diff.append(f"history: memory {len(intent.history)} changes, store {len(stored.history)}")
            out.append(Violation("e.memory_matches_store", f"process {pid}, intent {ref}: " + "; ".join(diff)[:300]))
    return bool(ev.books), out


def malformed_isolated(ev: Evidence) -> tuple[bool, list[Violation]]:
    """(g) Everybody else trades; an alert names the document."""
    if not ev.malformed:
        return False, []
    out = []
    intents = _intents(ev)
    blocked = _blocked(ev)
    stopped = [f.follower_id for f in sorted(ev.followers.values(), key=lambda f: f.follower_id)
               if f.trades and f.follower_id not in blocked
               and not any(i.follower_id == f.follower_id for i in intents.values())]
    for path in sorted(ev.malformed):
        doc_id = path.split("/", 1)[1]
        named = any(doc_id in str(a.get("message", "")) or doc_id in " ".join(map(str, a.get("context", {}).values()))
                    for a in ev.alerts)
        if not named:
            out.append(Violation("g.malformed_isolated", f"no alert names the malformed document {path} "
                                                         f"({ev.malformed[path]})"))
    if stopped:
        out.append(Violation("g.malformed_isolated", f"with {', '.join(sorted(ev.malformed))} malformed, followers "
                                                     f"{', '.join(stopped)} got no intent"))
    return True, out


def outcome_matches_broker(ev: Evidence) -> tuple[bool, list[Violation]]:
    """(h) A final intent's fills and state agree with the broker."""
    latest = _latest(ev.executions)
    per_ref: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for e in latest.values():
        per_ref[e.order_ref][e.con_id] += e.qty
    live = defaultdict(list)
    for order in ev.live_orders:
        live[order["order_ref"]].append(order)
    out = []
    checked = False
    for ref, intent in sorted(_intents(ev).items()):
        if not intent.state.final:
            continue
        checked = True
        legs = per_ref.get(ref, {})
        filled = min(legs.values()) if legs else 0  # a combo's legs fill together; a close of one leg alone
        if filled != intent.filled_qty:
            out.append(Violation("h.outcome_matches_broker", f"intent {ref} is {intent.state} with {intent.filled_qty} "
                                                             f"filled; the broker filled {filled}"))
        for order in live.get(ref, []):
            out.append(Violation("h.outcome_matches_broker", f"intent {ref} is {intent.state} but its order perm "
                                                             f"{order['perm_id']} is still {order['status']} at the "
                                                             f"broker"))
    return checked, out


def _excuses(ev: Evidence, intent: OrderIntent, since: float, until: float) -> list[str]:
    """The faults that may rightly hold ``intent`` back until ``until``: anything on a gateway, a process or the bus,
    and Firestore faults on the intent's own documents (its order, its follower's day claim and kill switch), at any
    time before (their effects outlast the strike: a failed write waits for a redelivery); and Firestore faults on
    no document in particular (a query, e.g. of the gateway's first reconciliation) still in effect at ``since``."""
    own = {intent.intent_id, entry_day_key(intent), intent.follower_id}  # its order, day claim, kill switch
    out = []
    for s in ev.struck:
        if s.t > until:
            continue
        if not s.kind.startswith("firestore.") or any(p.rsplit("/", 1)[-1] in own for p in s.paths) or (
                not s.paths and s.ends >= since - 1.0):
            out.append(s.kind)
    return out


def entry_not_held(ev: Evidence) -> tuple[bool, list[Violation]]:
    """(i) Each follower's entry is isolated from the others' in time too: once its intent is recorded, its first
    order goes out within ``PROMPT_S`` unless a fault on its own path held it (a failed write of someone else's
    intent must not make it wait for a redelivery or an adoption pass)."""
    first_sent: dict[str, float] = {}
    for s in ev.sent:
        if s["op"] == "place":
            first_sent.setdefault(str(s["order_ref"]), float(s["t"]))
    out = []
    checked = False
    for ref, intent in sorted(_intents(ev).items()):
        if ref not in ev.entry_refs or ref not in first_sent or ref not in ev.created:
            continue
        since = max(ev.created[ref], ev.entry_opens)
        held = first_sent[ref] - since
        checked = True
        if held <= PROMPT_S or _excuses(ev, intent, ev.created[ref], first_sent[ref]):
            continue
        others = sorted({f"{s.kind} on {', '.join(s.paths) or 'a query'} at {s.t:.1f} s" for s in ev.struck
                         if s.t <= first_sent[ref]})
        out.append(Violation("i.entry_not_held", f"intent {ref} ({intent.follower_id}) recorded at {since:.1f} s sent "
                                                 f"its first order {held:.1f} s later, held by faults not its own: "
                                                 f"{'; '.join(others)[:240] or 'none struck'}"))
    return checked, out


def _sign(leg: dict[str, Any], action: str) -> int:
    """+1 if an order of ``action`` buys ``leg`` (a combo SELL trades each leg the other way), else −1."""
    return 1 if (leg["action"] == "BUY") == (action == "BUY") else -1


def _opening(line: dict[str, Any]) -> bool:
    return str(line.get("order_ref", "")).startswith("entry-")


def close_within_position(ev: Evidence) -> tuple[bool, list[Violation]]:
    """(j) Each close of ours, when it reaches the broker, closes no more than the account holds of each leg, less
    what closes already working there will take (a second close of the same position would invert it)."""
    held: dict[tuple[str, int], int] = defaultdict(int)
    for account, before in ev.held_before.items():
        for con_id, qty in before.items():
            held[(account, con_id)] += qty
    working: dict[int, tuple[str, list[tuple[int, int]], int]] = {}  # perm → (account, [(conId, sign)], remaining)
    out: list[Violation] = []
    checked = False
    for line in ev.journal:
        event, account = line["event"], line["account"]
        if event == "order" and not line.get("what_if") and not line.get("modify") and not line.get("foreign") \
                and not _opening(line):
            checked = True
            sides = [(int(leg["con_id"]), _sign(leg, line["action"])) for leg in line.get("legs", [])]
            for con_id, side in sides:
                have = held[(account, con_id)]
                closing = sum(left for acct, others, left in working.values() if acct == account
                              for c, other_side in others if c == con_id and other_side == side)
                if have * side >= 0 or int(line["qty"]) + closing > abs(have):
                    out.append(Violation("j.close_within_position",
                                         f"{line['order_ref']} ({line['action']} {line['qty']}) reached the broker at "
                                         f"{_et(line['ts'])}: {account} holds {have} of {con_id}, {closing} of it "
                                         "already being closed"))
            working[int(line["perm_id"])] = (account, sides, int(line["qty"]))
        elif event == "fill" and str(line["exec_id"]).endswith(".01"):
            perm = int(line["perm_id"])
            if line["sec_type"] == "OPT":
                held[(account, int(line["con_id"]))] += int(line["qty"]) * (1 if line["side"] == "BOT" else -1)
            known = working.get(perm)
            if known is not None and (line["sec_type"] == "BAG" or len(known[1]) == 1):
                left = known[2] - int(line["qty"])
                working[perm] = (known[0], known[1], left)
                if left <= 0:
                    del working[perm]
        elif event in ("cancel", "reject") and "perm_id" in line:
            working.pop(int(line["perm_id"]), None)
    return checked, out


def others_positions_kept(ev: Evidence) -> tuple[bool, list[Violation]]:
    """(k) No order of ours trades a contract the account held before the day (a follower's own hedge)."""
    out = []
    for line in ev.journal:
        if line["event"] != "order" or line.get("foreign") or line.get("what_if"):
            continue
        theirs = ev.held_before.get(line["account"], {})
        for leg in line.get("legs", []):
            if int(leg["con_id"]) in theirs:
                out.append(Violation("k.others_positions_kept",
                                     f"{line['order_ref']} ({line['action']} {line['qty']}) trades {leg['con_id']}, "
                                     f"which {line['account']} held before the day (not ours)"))
    return bool(ev.held_before), out


def _vt(ev: Evidence, ts: str) -> float:
    assert ev.start is not None
    return (datetime.fromisoformat(ts) - ev.start).total_seconds()


def closed_when_asked(ev: Evidence) -> tuple[bool, list[Violation]]:
    """(l) After an exit comes due, no account ends the day holding a spread of ours it made due (short leg in or near
    the money, no time value left); after a confirmed flatten,
    no account holds any of today's options, and the operator got one answer. An account where a foreign order
    filled after the event is left out (nobody asked to close that)."""
    exit_event = next((e for e in ev.events if e["kind"] == "exit"), None)
    exit_at = float(exit_event["t"]) if exit_event is not None else None
    flatten_at = next((float(e["t"]) for e in ev.events if e["kind"] == "flatten_confirm"), None)
    if exit_at is None and flatten_at is None:
        return False, []
    asked_at = min(t for t in (exit_at, flatten_at) if t is not None)
    day = f"{ev.day[:4]}-{ev.day[4:6]}-{ev.day[6:]}"
    net: dict[tuple[str, int], int] = defaultdict(int)
    today: set[int] = set()
    late_foreign: set[str] = set()
    for line in ev.journal:
        if line["event"] == "order":
            today |= {int(leg["con_id"]) for leg in line.get("legs", []) if leg.get("expiry") == day}
        if line["event"] == "fill" and line["sec_type"] == "OPT" and str(line["exec_id"]).endswith(".01"):
            net[(line["account"], int(line["con_id"]))] += int(line["qty"]) * (1 if line["side"] == "BOT" else -1)
            if line.get("foreign") and _vt(ev, line["ts"]) >= asked_at:
                late_foreign.add(line["account"])
    due: set[int] = set()  # the legs of our entries whose short leg the exit made due (in or near the money)
    if exit_event is not None:
        underlying, near = Decimal(str(exit_event["underlying"])), Decimal(str(exit_event["near"]))
        for line in ev.journal:
            if line["event"] != "order" or not _opening(line) or line.get("foreign"):
                continue
            for leg in line.get("legs", []):
                strike = Decimal(str(leg["strike"]))
                if leg["action"] == "SELL" and (underlying <= strike + near if leg["right"] == "P"
                                                else underlying >= strike - near):
                    due |= {int(other["con_id"]) for other in line.get("legs", [])}
    accounts = {f.account for f in ev.followers.values() if f.trades} - late_foreign
    out = []
    for (account, con_id), qty in sorted(net.items()):
        if account not in accounts or not qty or con_id not in today:
            continue
        if flatten_at is not None or con_id in due:
            why = "a confirmed flatten" if flatten_at is not None else "the exit that came due"
            out.append(Violation("l.closed_when_asked", f"{account} still holds {qty} of {con_id} after {why}"))
    if flatten_at is not None:
        answers = [a for a in ev.alerts if a["context"].get("command_id") == "flatten-confirm"
                   and a["type"] in ("command.finished", "command.unfinished")]
        if len(answers) != 1:
            out.append(Violation("l.closed_when_asked", f"the confirmed flatten got {len(answers)} answers "
                                                        f"({[a['type'] for a in answers]}), not one"))
    return True, out


def action_ends(ev: Evidence) -> tuple[bool, list[Violation]]:
    """(m) No operator action is left ``in_progress`` once the faults are over and the day has settled."""
    out = [Violation("m.action_ends", f"operator action {action_id} ({doc.get('kind')} {doc.get('scope')}) is still "
                                      f"{doc.get('state')}: " + "; ".join(
                                          f"{p.get('key')} {p.get('state')} after {p.get('attempts')} attempt(s)"
                                          f"{': ' + str(p.get('note')) if p.get('note') else ''}"
                                          for p in doc.get("parts") or []))
           for action_id, doc in sorted(ev.actions.items()) if doc.get("state") == "in_progress"]
    return bool(ev.actions), out


def breaker_trips(ev: Evidence) -> tuple[bool, list[Violation]]:
    """(n) The daily-loss breaker held: every trading follower whose P&L at the broker (its marks at the end) is at
    or below minus its limit (0: off) has ``controls/{id}.entries_paused`` and exactly one CRITICAL
    ``risk.daily_loss_breaker`` alert."""
    out = []
    due = sorted(fid for fid, facts in ev.followers.items() if facts.trades and ev.limits.get(fid, Decimal(0)) > 0
                 and ev.daily_pnl.get(fid, Decimal(0)) <= -ev.limits[fid])
    for fid in due:
        alerts = [a for a in ev.alerts if a["type"] == "risk.daily_loss_breaker" and a.get("follower_id") == fid
                  and a["severity"] == "CRITICAL"]
        paused = (ev.controls.get(fid) or {}).get("entries_paused") is True
        if len(alerts) != 1 or not paused:
            out.append(Violation("n.breaker_trips", f"{fid} lost {ev.daily_pnl[fid]} today (limit {ev.limits[fid]}): "
                                                    f"entries {'paused' if paused else 'NOT paused'}, "
                                                    f"{len(alerts)} breaker alert(s), not one"))
    return bool(due), out


def foreign_paused(ev: Evidence) -> tuple[bool, list[Violation]]:
    """(o) Foreign activity pauses its follower, and only foreign activity: a trading follower whose account held a
    foreign order or a position of its own from the start of the day (before any executor looked) ends with its
    entries paused and exactly one CRITICAL ``follower.foreign_activity`` alert; no follower without a foreign order
    or position in its account gets one."""
    start = ev.start.isoformat() if ev.start is not None else ""
    foreign = [line for line in ev.journal if line["event"] == "order" and line.get("foreign")]
    held = {account for account, before in ev.held_before.items() if any(before.values())}  # a hedge of their own
    at_start = {line["account"] for line in foreign if line["ts"] == start} | held
    anytime = {line["account"] for line in foreign} | held
    out = []
    for fid, facts in sorted(ev.followers.items()):
        alerts = [a for a in ev.alerts if a["type"] == "follower.foreign_activity" and a.get("follower_id") == fid]
        if facts.trades and facts.account in at_start:
            paused = (ev.controls.get(fid) or {}).get("entries_paused") is True
            critical = [a for a in alerts if a["severity"] == "CRITICAL"]
            if len(critical) != 1 or not paused:
                state = "paused" if paused else "NOT paused"
                what = "position" if facts.account in held else "order"
                out.append(Violation("o.foreign_paused", f"{fid}'s account {facts.account} held a foreign {what} "
                                                         f"from the start: entries {state}, {len(critical)} "
                                                         "foreign-activity alert(s), not one"))
        elif alerts and facts.account not in anytime:
            out.append(Violation("o.foreign_paused", f"{fid} was alerted for foreign activity, but no foreign order "
                                                     f"was placed in {facts.account}: {alerts[0].get('message')}"))
    return bool(at_start), out


CHECKS: dict[str, Check] = {
    "a.one_order_per_intent": one_order_per_intent,
    "b.intent_settles": intent_settles,
    "b.unknown_has_order": unknown_has_order,
    "c.fills_recorded": fills_recorded,
    "c.fill_commission": fill_commission,
    "d.gateway_ready": gateway_ready,
    "e.memory_matches_store": memory_matches_store,
    "f.one_spread_per_day": one_spread_per_day,
    "g.malformed_isolated": malformed_isolated,
    "h.outcome_matches_broker": outcome_matches_broker,
    "i.entry_not_held": entry_not_held,
    "j.close_within_position": close_within_position,
    "k.others_positions_kept": others_positions_kept,
    "l.closed_when_asked": closed_when_asked,
    "m.action_ends": action_ends,
    "n.breaker_trips": breaker_trips,
    "o.foreign_paused": foreign_paused,
}


def check_all(ev: Evidence) -> tuple[set[str], list[Violation]]:
    """(applicable invariants, violations) of one run."""
    applicable: set[str] = set()
    violations: list[Violation] = []
    for name, check in CHECKS.items():
        used, found = check(ev)
        if used or found:
            applicable.add(name)
        violations.extend(found)
    return applicable, violations
