"""``make demo``: one simulated trading day of SpreadPilot on this machine, with the real pieces.

Prints progress while the day plays, a final table, and writes ``out/demo/summary.json``, the statements and the
simulators' journals. Exits non-zero if the day did not run through. Stages whose code does not exist yet are
listed as "not built", never as passed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live

from demo.display import final_table, live_panel, money_table, stage_table
from demo.runner import WARMUP_S, Demo, DemoOptions
from demo.scenario import load_scenario
from demo.stages import FAILED, NOT_BUILT, RUNNING
from demo.summary import build_summary
from demo.timeline import build_timeline
from spreadpilot.clock import NEW_YORK, new_york
from spreadpilot.errors import ConfigError
from spreadpilot.store import Store, firestore_client

ROOT = Path(__file__).resolve().parents[2]
STATEMENT_WAIT_S = 90.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument("--scenario", default="local/scenarios/normal-day.yaml", help="scenario file (YAML)")
    parser.add_argument("--followers", type=int, help="number of generated followers (overrides the scenario)")
    parser.add_argument("--speed", type=float, default=120.0, help="simulated seconds per real second")
    parser.add_argument("--keep", action="store_true", help="leave the stack running for browsing")
    parser.add_argument(
        "--per-follower-gateways", action="store_true", help="one simulator per follower instead of one advisor gateway"
    )
    parser.add_argument("--out", default="out/demo")
    parser.add_argument("--state-dir", default=".local/demo", help="where the demo stack keeps pids and logs")
    return parser.parse_args(argv)


def counters(store: Store, demo: Demo) -> dict[str, Any]:
    """Live numbers for the panel."""
    states = Counter(str((s.to_dict() or {}).get("state")) for s in store.db.collection("orders").stream())
    sink = demo.state.stack.sink if demo.state.stack else None
    return {
        "signals": sum(1 for _ in store.db.collection("signals").stream()),
        "order_states": states,
        "fills": sum(1 for _ in store.db.collection("fills").stream()),
        "alerts": sum(1 for _ in store.db.collection("alerts").stream()),
        "emails": len(sink.emails()) if sink else 0,
        "telegram": len(sink.telegram_messages()) if sink else 0,
    }


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    console = Console()
    if args.followers is not None and args.followers < 1:
        console.print("[red]--followers must be at least 1[/]")
        return 2
    try:
        scenario = load_scenario(Path(args.scenario))
    except ConfigError as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    options = DemoOptions(
        ROOT,
        scenario,
        Path(args.scenario),
        args.followers,
        args.speed,
        args.keep,
        args.per_follower_gateways,
        ROOT / args.out,
    )
    demo = Demo(options, console, ROOT / args.state_dir)
    began = time.monotonic()
    try:
        return run_day(demo, console, began)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return 130
    finally:
        demo.stop()
        if args.keep and demo.state.stack is not None:
            console.print(
                f"Stack left running (KEEP=1): env in {demo.state_dir / 'stack.env'}; "
                f"functions: {json.dumps(demo.state.stack.functions)}; stop with `make down`."
            )


def warn_if_compressed(demo: Demo, console: Console) -> None:
    """Say so when the simulated clock outruns what one broker connection can carry.

    A connection carries 45 messages per *real* second (what-if + order per follower), while the day runs N× faster:
    with hundreds of followers on one connection the orders take simulated minutes to reach the broker, the market
    moves meanwhile, and the ladder's 5-second steps are over before the orders arrive.
    """
    per_connection = 1 if demo.o.per_follower_gateways else len(demo.o.scenario.follower_specs(demo.o.followers))
    fan_out_sim_s = per_connection * 2 / 45 * demo.o.speed
    if fan_out_sim_s > 60:
        suggested = max(1, int(60 / (per_connection * 2 / 45)))
        console.print(
            f"[yellow]note: {per_connection} followers on one connection need about {per_connection * 2 / 45:.0f} "
            f"real seconds to reach the broker, {fan_out_sim_s / 60:.0f} simulated minutes at ×{demo.o.speed:g}; "
            f"entries will meet a market that has moved and may end cancelled. SPEED={suggested} keeps the "
            "fan-out within a simulated minute.[/]"
        )


def run_day(demo: Demo, console: Console, began: float) -> int:
    o = demo.o
    demo.prepare_out_dir()
    console.print(
        f"[bold]SpreadPilot demo[/]: scenario [cyan]{o.scenario.name}[/] on {o.scenario.date}, "
        f"{len(o.scenario.follower_specs(o.followers))} followers, ×{o.speed:g} speed"
    )
    warn_if_compressed(demo, console)
    console.print("starting the local stack …")
    stack = demo.start_stack()
    clock = demo.make_clock(WARMUP_S)
    env = demo.process_env(clock)
    console.print("starting simulator(s), seeding followers, serving functions, starting the executor …")
    ports = demo.start_simulators(env)
    demo.send_day_paths()
    demo.seed(ports, clock.sim_start)
    demo.start_functions(env)
    demo.start_web(env)
    demo.start_executor(env)
    if demo.state.web_url:
        console.print(f"browse the day live: {demo.state.web_url} (admin@spreadpilot.local / spreadpilot-local)")
    store = Store(firestore_client(stack.project))
    timeline = build_timeline(o.scenario)
    last_day = o.scenario.day_list()[-1].date
    day_end = o.scenario.span(last_day)[1]
    real_start, real_end = clock.anchor, clock.real_epoch_at(day_end)

    def panel() -> Any:
        now = clock.now()
        progress = min(1.0, max(0.0, (time.time() - real_start) / (real_end - real_start)))
        return live_panel(
            f"{new_york(now):%H:%M:%S}", progress, counters(store, demo), demo.state.stages, demo.state.events_done
        )

    with Live(panel(), console=console, refresh_per_second=2, transient=not console.is_terminal) as live:
        last_refresh = 0.0

        def refresh() -> None:
            nonlocal last_refresh
            if time.monotonic() - last_refresh >= 0.5:
                demo.check_processes()
                live.update(panel())
                last_refresh = time.monotonic()

        for event in timeline:
            demo.wait_until(clock.real_epoch_at(event.at), refresh)
            try:
                demo.play(event)
            except Exception as exc:  # isolate: a failed event is reported and the day goes on
                demo.state.errors.append(f"{event.kind} at {new_york(event.at):%Y-%m-%d %H:%M}: {exc}")
        demo.wait_until(clock.real_epoch_at(day_end), refresh)
        live.update(panel())
    if not console.is_terminal:
        console.print(stage_table(demo.state.stages))
    month_end(demo, console)
    return finish(demo, console, store, began)


def wait_for_daily_rollups(demo: Demo, store: Store) -> None:
    """Every day's 16:30 rollup done (a busy machine can deliver the tick late): each follower with ledger entries
    on a day has its ``daily_pnl`` document of that day before the months are closed."""
    deadline = time.monotonic() + STATEMENT_WAIT_S
    for day in demo.o.scenario.day_list():
        # ``at`` is stored as ISO text with the writer's offset: query a padded range, keep the day's exactly
        low = datetime.combine(day.date - timedelta(days=1), datetime.min.time(), UTC).isoformat()
        high = datetime.combine(day.date + timedelta(days=2), datetime.min.time(), UTC).isoformat()
        while time.monotonic() < deadline:
            traders = {str(doc.get("follower_id"))
                       for collection in ("fills", "settlements")
                       for snap in store.db.collection(collection).where("at", ">=", low).where("at", "<", high)
                       .stream()
                       if (doc := snap.to_dict() or {}) and new_york(datetime.fromisoformat(doc["at"])).date()
                       == day.date}
            ids = [f"{fid}:{day.date.isoformat()}" for fid in sorted(traders)]
            if all(store.db.collection("daily_pnl").document(i).get().exists for i in ids):
                break
            time.sleep(0.5)


def month_end(demo: Demo, console: Console) -> None:
    """After the last day: each month's rollup as on the 1st at 00:10 ET, one after the other, and the statements."""
    stack = demo.state.stack
    pnl, reports = demo.state.stages["pnl"], demo.state.stages["reports"]
    if stack is None or pnl.status != RUNNING:
        return
    store = Store(firestore_client(stack.project))
    followers = [f for f in (demo.state.seed.followers if demo.state.seed else []) if f.enabled]
    wait_for_daily_rollups(demo, store)
    for month in demo.o.scenario.months():
        console.print(f"month end: monthly rollup and statements for {month} …")
        year, mon = (int(p) for p in month.split("-"))
        first = datetime(year + mon // 12, mon % 12 + 1, 1, 0, 10, tzinfo=NEW_YORK)  # as Cloud Scheduler runs it
        body = {"job": "pnl-monthly", "scheduled_at": first.isoformat()}  # the month before that day is closed
        stack.pubsub.publish("tick-pnl-monthly", json.dumps(body).encode())
        deadline = time.monotonic() + STATEMENT_WAIT_S
        while time.monotonic() < deadline:  # the next month starts from this one's standing
            closed = [d for d in store.db.collection("monthly_pnl").where("month", "==", month).stream()]
            if len(closed) >= len(followers):
                break
            time.sleep(0.5)
    if reports.status != RUNNING:
        return
    deadline = time.monotonic() + STATEMENT_WAIT_S
    expected = len(followers) * len(demo.o.scenario.months())
    while time.monotonic() < deadline:
        done = [s for s in store.db.collection("statements").stream() if (s.to_dict() or {}).get("emailed_at")]
        if len(done) >= expected:
            break
        time.sleep(1.0)


def finish(demo: Demo, console: Console, store: Store, began: float) -> int:
    """Build the summary, print the final table, decide the exit code."""
    assert demo.state.stack is not None and demo.state.clock is not None
    o = demo.o
    demo.check_processes()
    for stage in demo.state.stages.values():
        if stage.status == RUNNING:
            stage.succeed("ran through the day")
    alerts_fallback: list[dict[str, Any]] = []
    base = {
        "scenario": o.scenario.name,
        "date": o.scenario.date.isoformat(),
        "dates": [d.date.isoformat() for d in o.scenario.day_list()],
        "followers": len(o.scenario.follower_specs(o.followers)),
        "accounts": {f.id: f.ibkr_account for f in (demo.state.seed.followers if demo.state.seed else [])},
        "speed": o.speed,
        "gateways": "per-follower" if o.per_follower_gateways else "advisor",
        "stages": {k: {"title": s.title, "status": s.status, "detail": s.detail} for k, s in demo.state.stages.items()},
        "events": demo.state.events_done,
        "errors": demo.state.errors,
        "journals": [os.path.relpath(p, ROOT) for p in demo.state.journals if p.exists()],
        "wall_time_s": round(time.monotonic() - began, 1),
    }
    summary = build_summary(store, demo.state.stack.sink, demo.state.journals, base, o.speed, alerts_fallback)
    for statement in summary["statements"]:
        for key in ("pdf", "xlsx"):
            path = statement.get(key)
            if path and Path(path).exists() and not Path(path).is_relative_to(o.out_dir / "statements"):
                shutil.copy(path, o.out_dir / "statements")
            if path:
                statement[key] = os.path.relpath(path, ROOT)
    failed = [k for k, s in demo.state.stages.items() if s.status == FAILED]
    duplicated = summary["broker_check"]["duplicate_order_refs"]
    summary["ran_through"] = not failed and not duplicated and not demo.state.errors
    summary["not_built"] = [k for k, s in demo.state.stages.items() if s.status == NOT_BUILT]
    (o.out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    console.print(final_table(summary))
    if o.scenario.multi_day:
        console.print(money_table(summary))
    for key in failed:
        console.print(f"[bold red]stage failed: {demo.state.stages[key].title}[/]\n{demo.state.stages[key].detail}")
    for error in demo.state.errors:
        console.print(f"[red]error: {error}[/]")
    if duplicated:
        console.print(f"[bold red]more than one order at the broker for: {', '.join(duplicated)}[/]")
    if summary["not_built"]:
        console.print(f"[yellow]not built yet: {', '.join(summary['not_built'])}[/]")
    console.print(
        f"summary: {os.path.relpath(o.out_dir / 'summary.json', ROOT)}  ({summary['wall_time_s']} s wall time)"
    )
    return 0 if summary["ran_through"] else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main(sys.argv[1:]))
