"""Plays one simulated trading day on the local stack with the real pieces as processes.

Order of play: start the stack → seed followers/gateways → start the simulator(s), the functions and the executor on
one shared simulated clock → write sheet rows and publish scheduler ticks at their times, day after day (the clock
jumps over the nights; the processes keep running) → after the last close, the monthly rollup of every month and
the statements → build ``summary.json`` from Firestore, the simulators' journals and the sink.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
import yaml
from rich.console import Console

from demo import config
from demo.scenario import Scenario
from demo.seed import Seed, build_seed
from demo.stages import FAILED, RUNNING, Stage, discover_stages
from demo.timeline import Event
from spreadpilot.clock import SimClock, new_york
from spreadpilot.envelopes import CommandMessage
from spreadpilot.models import Command
from spreadpilot.store import Store, firestore_client, follower_card
from stack import LocalStack
from stack.processes import Server, free_port, log_tail, pid_alive, spawn, stop_pid, stop_recorded

WARMUP_S = 25.0  # real seconds reserved for processes to start before the simulated day begins
NIGHT_S = 1.0  # real seconds between one simulated day's end and the next one's start


@dataclass
class DemoOptions:
    root: Path
    scenario: Scenario
    scenario_path: Path
    followers: int | None
    speed: float
    keep: bool
    per_follower_gateways: bool
    out_dir: Path


@dataclass
class DemoState:
    """What the run has started and seen; the summary is built from it and from the stores."""

    stages: dict[str, Stage]
    stack: LocalStack | None = None
    clock: SimClock | None = None
    seed: Seed | None = None
    processes: dict[str, Server] = field(default_factory=dict)
    journals: list[Path] = field(default_factory=list)
    events_done: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    real_started: float = field(default_factory=time.time)
    alert_tap: Any = None
    controls: dict[str, str] = field(default_factory=dict)  # simulator name → control URL
    web_port: int = field(default_factory=free_port)
    issuer_port: int = field(default_factory=free_port)
    web_url: str = ""


class Demo:
    """One run of ``make demo``."""

    def __init__(self, options: DemoOptions, console: Console, state_dir: Path) -> None:
        self.o = options
        self.console = console
        self.state = DemoState(stages=discover_stages(options.root))
        self.state_dir = state_dir
        self.accounts: dict[str, str] = {}  # follower id → simulator account

    # ── set-up ─────────────────────────────────────────────────────────────────────────────────────────────────

    def prepare_out_dir(self) -> None:
        """Start from an empty ``out/demo`` so nothing of an earlier run is mistaken for this one's."""
        shutil.rmtree(self.o.out_dir, ignore_errors=True)
        (self.o.out_dir / "statements").mkdir(parents=True)

    def start_stack(self) -> LocalStack:
        """The local stack in its own state folder (``make up``'s stack may run beside it)."""
        leftover = LocalStack.attach(self.o.root, self.state_dir)
        if leftover is not None:
            leftover.stop()
        stop_recorded(self.state_dir)
        stack = LocalStack.start(self.o.root, state_dir=self.state_dir, die_with_parent=not self.o.keep)
        os.environ.update(stack.env)
        self.state.stack = stack
        self.state.stages["stack"].succeed(f"ready in {max(stack.timings.values()):.1f} s")
        return stack

    def make_clock(self, warmup_s: float) -> SimClock:
        """The days' clock: the scenario's start time, ``warmup_s`` real seconds from now; each later day starts
        ``NIGHT_S`` real seconds after the one before ends (the night passes in an instant)."""
        scenario, speed = self.o.scenario, self.o.speed
        days = scenario.day_list()
        anchor = time.time() + warmup_s
        jumps: list[tuple[float, datetime]] = []
        start, end = scenario.span()
        real, day_length = anchor, (end - start).total_seconds()
        for day in days[1:]:
            real += day_length / speed + NIGHT_S
            jumps.append((real, scenario.at(scenario.start, day.date)))
        clock = SimClock(scenario.at(scenario.start), speed, anchor, tuple(jumps))
        self.state.clock = clock
        return clock

    def process_env(self, clock: SimClock) -> dict[str, str]:
        """Environment of every SpreadPilot process: the stack, the clock, the demo's settings."""
        assert self.state.stack is not None
        web = f"http://127.0.0.1:{self.state.web_port}"
        sources = os.pathsep.join(str(self.o.root / p) for p in ("shared", "local", "gateway-vm"))
        return dict(os.environ) | self.state.stack.env | config.common_env(clock.spec(), web) | {"PYTHONPATH": sources}

    def start_simulators(self, env: dict[str, str]) -> list[int]:
        """One simulator serving every account (advisor style), or one per follower; returns their ports."""
        seed_specs = self.o.scenario.follower_specs(self.o.followers)
        stage = self.state.stages["ibsim"]
        if not stage.built:
            return [0] * (len(seed_specs) if self.o.per_follower_gateways else 1)
        resolved = self.o.out_dir / "scenario.resolved.yaml"
        accounts = [s.account or f"DU{i:05d}" for i, s in enumerate(seed_specs, start=1)]
        by_follower = {s.id: a for s, a in zip(seed_specs, accounts, strict=True)}
        raw = yaml.safe_load(self.o.scenario_path.read_text(encoding="utf-8"))
        if self.o.scenario.multi_day or self.o.scenario.overnight:
            # Over several days (or past midnight) the simulator gets each day's path through its control channel
            # and the demo plays the faults at their times (a scenario file's faults are times of one day).
            first = self.o.scenario.day_list()[0]
            raw = {"name": raw.get("name"), "date": first.date.isoformat(), "market": first.market.model_dump(),
                   "faults": []}
        for fault in raw.get("faults") or []:
            if "follower" in fault and fault["follower"] in by_follower:
                fault["account"] = by_follower[fault["follower"]]
        self.accounts = by_follower
        resolved.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        groups = [[a] for a in accounts] if self.o.per_follower_gateways else [accounts]
        ports = []
        for index, group in enumerate(groups):
            name = f"ibsim-{group[0].lower()}" if self.o.per_follower_gateways else "ibsim-advisor"
            port, control_port = free_port(), free_port()
            journal = self.o.out_dir / f"{name}.jsonl"
            argv = [
                sys.executable,
                "-m",
                "ibsim",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--accounts",
                ",".join(group),
                "--journal",
                str(journal),
                "--scenario",
                str(resolved),
                "--seed",
                str(index + 1),
                "--control-port",
                str(control_port),
            ]
            if self.o.scenario.market.volatility is not None:
                argv += ["--volatility", str(self.o.scenario.market.volatility)]
            self.state.processes[name] = spawn(
                name,
                argv,
                port=port,
                state_dir=self.state_dir,
                env=env,
                cwd=self.o.root,
                die_with_parent=not self.o.keep,
            )
            self.state.journals.append(journal)
            self.state.controls[name] = f"http://127.0.0.1:{control_port}"
            ports.append(port)
        stage.status = RUNNING
        return ports

    def control(self, name: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST to one simulator's control channel."""
        answer = requests.post(self.state.controls[name] + path, json=body, timeout=10)
        answer.raise_for_status()
        return dict(answer.json())

    def send_day_paths(self) -> None:
        """Over several days: every simulator gets each day's QQQ path (waits for their control channels)."""
        if not self.o.scenario.multi_day:
            return
        deadline = time.monotonic() + 30
        for name in self.state.controls:
            for day in self.o.scenario.day_list():
                body = {"date": day.date.isoformat(), "underlying": day.market.underlying}
                while True:
                    try:
                        self.control(name, "/path", body)
                        break
                    except requests.RequestException:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.2)

    def seed(self, ports: list[int], now: datetime) -> Seed:
        """Followers and gateways into Firestore; the signal sheet with its header into the Sheets fake."""
        assert self.state.stack is not None
        specs = self.o.scenario.follower_specs(self.o.followers)
        seed = build_seed(specs, per_follower_gateways=self.o.per_follower_gateways, ports=ports, now=now)
        store = Store(firestore_client(self.state.stack.project))
        batch = store.db.batch()
        for gateway in seed.gateways:
            batch.set(store.gateways.ref(gateway.id), gateway.to_doc())
        for follower in seed.followers:
            batch.set(store.followers.ref(follower.id), follower.to_doc())
            batch.set(store.followers.card_ref(follower.id), follower_card(follower))
        batch.commit()
        self.state.stack.sheets.create_spreadsheet(
            tabs={config.SHEET_TAB: [config.SHEET_HEADER]}, title="Signals", spreadsheet_id=config.SHEET_ID
        )
        self.state.seed = seed
        return seed

    def start_functions(self, env: dict[str, str]) -> None:
        """Serve every built function with functions-framework and create its push subscriptions."""
        assert self.state.stack is not None
        function_env = env | config.function_env(self.o.out_dir, self.o.speed) | config.auth_env(self.state.issuer_port)
        for key in ("signal_poller", "alert_router", "watchdog", "telegram_bot", "pnl", "reports", "admin_api"):
            stage = self.state.stages[key]
            if not stage.built:
                continue
            try:
                url = self.state.stack.serve_function(key, env=function_env)
            except Exception as exc:  # isolate: one function failing to start is reported, the day goes on
                stage.fail(f"did not start: {exc}")
                continue
            stage.status, stage.detail = RUNNING, url

    def start_web(self, env: dict[str, str]) -> None:
        """The local sign-in issuer and the admin web app, pointed at the served admin API."""
        stage = self.state.stages["admin_api"]
        assert self.state.stack is not None
        api_url = self.state.stack.functions.get("admin_api")
        if stage.status != RUNNING or not api_url:
            return
        argv = [
            sys.executable,
            "-m",
            "identity",
            "--port",
            str(self.state.issuer_port),
            "--web-port",
            str(self.state.web_port),
            "--web-dir",
            str(self.o.root / "web"),
            "--api-base-url",
            api_url,
        ]
        self.state.processes["identity"] = spawn(
            "identity",
            argv,
            port=self.state.web_port,
            state_dir=self.state_dir,
            env=env,
            cwd=self.o.root,
            die_with_parent=not self.o.keep,
        )
        self.state.web_url = f"http://127.0.0.1:{self.state.web_port}"
        stage.detail = f"web app {self.state.web_url}"

    def start_executor(self, env: dict[str, str]) -> None:
        """``python -m executor`` as the gateway VM runs it."""
        stage = self.state.stages["executor"]
        if not stage.built:
            return
        argv = [sys.executable, "-m", "executor"]
        executor_env = env | config.executor_env("executor-signals", self.o.speed)
        self.state.processes["executor"] = spawn(
            "executor",
            argv,
            port=0,
            state_dir=self.state_dir,
            env=executor_env,
            cwd=self.o.root,
            die_with_parent=not self.o.keep,
        )
        stage.status = RUNNING
        if self.state.stages["monitor"].built:
            self.state.stages["monitor"].status = RUNNING

    # ── the day ────────────────────────────────────────────────────────────────────────────────────────────────

    def play(self, event: Event) -> None:
        """Carry out one event of the timeline."""
        assert self.state.stack is not None and self.state.clock is not None
        stack = self.state.stack
        if event.kind == "sheet_row":
            row = [str(event.payload["row"].get(h, "")) for h in config.SHEET_HEADER]
            values = stack.sheets.tab_values(config.SHEET_ID, config.SHEET_TAB)
            stack.sheets.set_tab_values(config.SHEET_ID, config.SHEET_TAB, [*values, row])
        elif event.kind == "tick":
            body = {"job": event.payload["job"], "scheduled_at": event.at.isoformat()}
            stack.pubsub.publish(event.payload["topic"], json.dumps(body).encode())
        elif event.kind == "command":
            command = Command.model_validate(
                {
                    "command_id": f"demo-{event.payload.get('kind')}-{event.at:%H%M}",
                    "issued_by": "demo-operator",
                    "issued_at": event.at,
                    "source": "console",
                    **event.payload,
                }
            )
            from spreadpilot.envelopes import encode

            data, attributes = encode(CommandMessage(command=command))
            stack.pubsub.publish("commands", data, **attributes)
        elif event.kind == "fault":
            body = dict(event.payload)
            follower = body.pop("follower", None)
            if follower is not None and follower in self.accounts:
                body["account"] = self.accounts[follower]
            for name in self.state.controls:
                if "account" not in body or self.per_simulator_accounts(name, str(body["account"])):
                    self.control(name, "/fault", body)
        if event.label:
            self.state.events_done.append(f"{new_york(event.at):%H:%M} {event.label}")

    def per_simulator_accounts(self, name: str, account: str) -> bool:
        """True if simulator ``name`` serves ``account`` (one per follower, or the advisor serving all)."""
        return not self.o.per_follower_gateways or name == f"ibsim-{account.lower()}"

    def check_processes(self) -> None:
        """A process that died mid-day fails its stage with the tail of its log."""
        for name, server in self.state.processes.items():
            if pid_alive(server.pid):
                continue
            key = {"executor": "executor", "identity": "admin_api"}.get(name, "ibsim")
            stage = self.state.stages[key]
            if stage.status != FAILED:
                stage.fail(f"{name} exited during the day:\n{log_tail(server.log, 15)}")

    def wait_until(self, real_epoch: float, on_tick: Any) -> None:
        """Sleep until ``real_epoch``, refreshing the display and checking the processes meanwhile."""
        while True:
            remaining = real_epoch - time.time()
            if remaining <= 0:
                return
            time.sleep(min(0.25, remaining))
            on_tick()

    # ── tear-down ──────────────────────────────────────────────────────────────────────────────────────────────

    def stop(self) -> None:
        """Stop everything this run started (unless ``--keep``)."""
        if self.o.keep:
            return
        for server in self.state.processes.values():
            stop_pid(server.pid)
            (self.state_dir / "pids" / f"{server.name}.pid").unlink(missing_ok=True)
        if self.state.alert_tap is not None:
            with contextlib.suppress(Exception):
                self.state.alert_tap.close()
        if self.state.stack is not None:
            self.state.stack.stop()
        stop_recorded(self.state_dir)
