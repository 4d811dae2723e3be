"""``LocalStack``: the official emulators and our fakes on 127.0.0.1, started once and stopped by pid.

State lives in ``state_dir`` (default ``<root>/.local``): ``pids/<server>.pid``, ``logs/<server>.log``,
``stack.env`` (shell ``export`` lines) and ``stack.json`` (what ``attach`` reads back).
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from fakes.control import SheetsControl, SinkControl
from iamcheck.accounts import OWNER, account_email
from spreadpilot.resources import resources
from stack import emulators
from stack.processes import Server, StackError, free_port, pid_alive, read_pids, spawn, stop_pid, wait_ready
from stack.topology import PubSubAdmin, TopicTap

HOST = "127.0.0.1"
DEFAULT_PROJECT = "spreadpilot-local"
START_TIMEOUT_S = 60.0

FIRESTORE_EMULATOR_HOST = "FIRESTORE_EMULATOR_HOST"
PUBSUB_EMULATOR_HOST = "PUBSUB_EMULATOR_HOST"
GOOGLE_CLOUD_PROJECT = "GOOGLE_CLOUD_PROJECT"
SECRET_MANAGER_EMULATOR_HOST = "SECRET_MANAGER_EMULATOR_HOST"
SHEETS_API_URL = "SHEETS_API_URL"
SENDGRID_API_URL = "SENDGRID_API_URL"
TELEGRAM_API_URL = "TELEGRAM_API_URL"
# Who a process is to the fakes that check permissions (production: the service account of the metadata server). The
# shell and the tests are the project owner; each function is its own service account (``serve_source``).
LOCAL_IDENTITY = "LOCAL_IDENTITY"


def _http_ok(url: str, expect: str | None = None) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our own loopback server
                return expect is None or response.read().decode().strip() == expect
        except urllib.error.HTTPError:
            return expect is None  # any HTTP answer means the server is up
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    return probe


def _grpc_ready(target: str) -> Callable[[], bool]:
    def probe() -> bool:
        with grpc.insecure_channel(target) as channel:
            try:
                grpc.channel_ready_future(channel).result(timeout=0.5)
            except grpc.FutureTimeoutError:
                return False
            return True

    return probe


def _source_path(root: Path) -> str:
    return os.pathsep.join(str(root / part) for part in ("shared", "local", "gateway-vm"))


@dataclass
class LocalStack:
    """A running local stack: its servers, the env vars that point clients at them, and helpers for tests."""

    root: Path
    state_dir: Path
    project: str
    servers: dict[str, Server]
    env: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)
    die_with_parent: bool = False
    _push: dict[str, str] = field(default_factory=dict)
    # the env each function was served with here: asking for it with another env restarts it (never a silent reuse
    # of a server configured for an earlier test, such as a bot with another webhook secret)
    _served_env: dict[str, dict[str, str]] = field(default_factory=dict)
    _admin: PubSubAdmin | None = None

    # ---- lifecycle -------------------------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        root: Path,
        *,
        state_dir: Path | None = None,
        project: str = DEFAULT_PROJECT,
        die_with_parent: bool = False,
        timeout_s: float = START_TIMEOUT_S,
    ) -> LocalStack:
        """Start every server on free ports, wait until each answers, create the declared Pub/Sub topology.

        ``die_with_parent`` makes the servers exit when the calling thread's process dies (tests use it).
        Raises ``EmulatorsMissing`` (with install instructions) or ``StackError`` (with the failing log's tail).
        """
        state = state_dir or root / ".local"
        running = list(read_pids(state))
        if running:
            raise StackError(f"a local stack is already running from {state} ({', '.join(running)}); stop it first")
        found = emulators.find()
        begun = time.monotonic()
        ports = {name: free_port(HOST) for name in ("firestore", "pubsub", "secret_manager", "sheets", "sink")}
        fake_env = os.environ | {"PYTHONPATH": _source_path(root)}
        commands: dict[str, tuple[list[str], dict[str, str] | None]] = {
            "firestore": (found.firestore_argv(HOST, ports["firestore"], root / "terraform" / "firestore.rules"), None),
            "pubsub": (found.pubsub_argv(HOST, ports["pubsub"]), None),
        }
        for fake in ("secret_manager", "sheets", "sink"):
            argv = [sys.executable, "-m", f"fakes.{fake}", "--host", HOST, "--port", str(ports[fake])]
            if fake == "secret_manager":  # the grants of terraform/iam.tf, enforced per caller identity
                argv += ["--terraform", str(root / "terraform"), "--project", project, "--owner", OWNER]
            commands[fake] = (argv, fake_env)
        servers: dict[str, Server] = {}
        try:
            for name, (argv, env) in commands.items():
                servers[name] = spawn(
                    name, argv, port=ports[name], state_dir=state, env=env, cwd=root, die_with_parent=die_with_parent
                )
            probes = {
                "firestore": _http_ok(f"http://{HOST}:{ports['firestore']}/", "Ok"),
                "pubsub": _http_ok(f"http://{HOST}:{ports['pubsub']}/", "Ok"),
                "secret_manager": _grpc_ready(f"{HOST}:{ports['secret_manager']}"),
                "sheets": _http_ok(f"http://{HOST}:{ports['sheets']}/_control/health"),
                "sink": _http_ok(f"http://{HOST}:{ports['sink']}/_control/health"),
            }
            timings: dict[str, float] = {}
            for name, probe in probes.items():
                wait_ready(servers[name], probe, timeout_s - (time.monotonic() - begun))
                timings[name] = round(time.monotonic() - begun, 2)
            env = {
                FIRESTORE_EMULATOR_HOST: f"{HOST}:{ports['firestore']}",
                PUBSUB_EMULATOR_HOST: f"{HOST}:{ports['pubsub']}",
                GOOGLE_CLOUD_PROJECT: project,
                SECRET_MANAGER_EMULATOR_HOST: f"{HOST}:{ports['secret_manager']}",
                SHEETS_API_URL: f"http://{HOST}:{ports['sheets']}",
                SENDGRID_API_URL: f"http://{HOST}:{ports['sink']}",
                TELEGRAM_API_URL: f"http://{HOST}:{ports['sink']}",
                LOCAL_IDENTITY: OWNER,
            }
            stack = cls(root, state, project, servers, env, timings, die_with_parent=die_with_parent)
            stack.pubsub.create_declared(resources())
            timings["topology"] = round(time.monotonic() - begun, 2)
        except BaseException:
            for server in servers.values():
                stop_pid(server.pid)
                (state / "pids" / f"{server.name}.pid").unlink(missing_ok=True)
            raise
        stack._save()
        return stack

    @classmethod
    def attach(cls, root: Path, state_dir: Path | None = None) -> LocalStack | None:
        """The stack already running from ``state_dir`` (every server alive), or ``None``."""
        state = state_dir or root / ".local"
        try:
            saved = json.loads((state / "stack.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        servers = {
            name: Server(name=name, pid=s["pid"], port=s["port"], log=Path(s["log"]))
            for name, s in saved["servers"].items()
        }
        if not servers or not all(pid_alive(server.pid) for server in servers.values()):
            return None
        return cls(
            root,
            state,
            saved["project"],
            servers,
            saved["env"],
            saved.get("timings", {}),
            saved.get("functions", {}),
            _push=saved.get("push", {}),
        )

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop every server this stack started (functions first), remove pid files and the env file."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        for server in sorted(self.servers.values(), key=lambda s: not s.name.startswith("function-")):
            stop_pid(server.pid, timeout_s)
            (self.state_dir / "pids" / f"{server.name}.pid").unlink(missing_ok=True)
        self.servers.clear()
        self.functions.clear()
        for leftover in ("stack.env", "stack.json"):
            (self.state_dir / leftover).unlink(missing_ok=True)

    def _save(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        lines = [f"export {key}={value}" for key, value in self.env.items()]
        (self.state_dir / "stack.env").write_text("\n".join(lines) + "\n", encoding="utf-8")
        saved: dict[str, Any] = {
            "project": self.project,
            "env": self.env,
            "servers": {n: {"pid": s.pid, "port": s.port, "log": str(s.log)} for n, s in self.servers.items()},
            "timings": self.timings,
            "functions": self.functions,
            "push": self._push,
        }
        (self.state_dir / "stack.json").write_text(json.dumps(saved, indent=2) + "\n", encoding="utf-8")

    # ---- functions -------------------------------------------------------------------------------------------

    def serve_source(
        self,
        name: str,
        source: Path,
        target: str,
        signature_type: str = "cloudevent",
        env: dict[str, str] | None = None,
        timeout_s: float = 30.0,
    ) -> str:
        """Serve ``target`` from ``source`` with functions-framework's app in one process; returns its base URL."""
        running = self.servers.get(f"function-{name}")
        alive = running is not None and pid_alive(running.pid)
        same_env = self._served_env.get(name, env or {}) == (env or {})
        if name in self.functions and alive and same_env:
            return self.functions[name]
        if running is not None:  # it died (a crash, or killed by a test), or it runs with another env: start anew
            stop_pid(running.pid)
            del self.servers[running.name]
        port = free_port(HOST)
        # Not the functions-framework CLI: its gunicorn forks after the function's import (see stack.function_host).
        argv = [sys.executable, "-m", "stack.function_host", "--source", str(source), "--target", target]
        argv += ["--signature-type", signature_type, "--host", HOST, "--port", str(port)]
        path = os.pathsep.join([str(source.parent), _source_path(self.root)])
        process_env = os.environ | self.env | {"PYTHONPATH": path, "PYTHONUNBUFFERED": "1"} | (env or {})
        process_env[LOCAL_IDENTITY] = self.identity(name)
        server = spawn(
            f"function-{name}",
            argv,
            port=port,
            state_dir=self.state_dir,
            env=process_env,
            cwd=source.parent,
            die_with_parent=self.die_with_parent,
        )
        self.servers[server.name] = server
        try:
            waited = wait_ready(server, _http_ok(f"http://{HOST}:{port}/"), timeout_s)
        except StackError:
            stop_pid(server.pid)
            (self.state_dir / "pids" / f"{server.name}.pid").unlink(missing_ok=True)
            del self.servers[server.name]
            raise
        self.timings[f"function-{name}"] = round(waited, 2)
        url = f"http://{HOST}:{port}"
        self.functions[name] = url
        self._served_env[name] = dict(env or {})
        self._save()
        return url

    def serve_function(self, name: str, env: dict[str, str] | None = None) -> str:
        """Serve ``functions/<name>/main.py`` as declared in resources.yaml and create its push subscriptions."""
        declared = resources()
        if name not in declared.functions:
            raise StackError(f"function {name!r} is not declared in resources.yaml")
        source = self.root / "functions" / name / "main.py"
        if not source.is_file():
            raise StackError(f"function {name!r} is not built yet: {source} does not exist")
        function = declared.functions[name]
        signature = "cloudevent" if function.trigger == "pubsub" else "http"
        url = self.serve_source(name, source, function.entry_point, signature, env)
        for sub_name, sub in declared.subscriptions.items():
            if sub.type == "push" and sub.function == name:
                endpoint = self.push_endpoint(url, sub.topic)
                self.pubsub.create_declared_subscription(declared, sub_name, push_endpoint=endpoint)
                self._push[sub_name] = endpoint
        self._save()
        return url

    def identity(self, principal: str) -> str:
        """The service account ``principal`` (a function's name, or ``executor``) runs as, as iam.tf names it."""
        return account_email(principal, self.project)

    def push_endpoint(self, url: str, topic: str) -> str:
        """The push URL for ``topic`` (its path gives functions-framework the right CloudEvent ``source``)."""
        return f"{url}/projects/{self.project}/topics/{topic}"

    def create_push_subscription(self, subscription: str, topic: str, url: str, max_delivery_attempts: int = 5) -> str:
        """A push subscription (recreated if it exists) from ``topic`` to the function at ``url``."""
        self.pubsub.create_topic(topic)
        endpoint = self.push_endpoint(url, topic)
        self.pubsub.create_subscription(subscription, topic, push_endpoint=endpoint, replace=True)
        self._push[subscription] = endpoint
        return endpoint

    # ---- clients and resets ----------------------------------------------------------------------------------

    @property
    def pubsub(self) -> PubSubAdmin:
        """Admin/pull client of the Pub/Sub emulator."""
        if self._admin is None:
            self._admin = PubSubAdmin(self.env[PUBSUB_EMULATOR_HOST], self.project)
        return self._admin

    @property
    def sheets(self) -> SheetsControl:
        """Control API of the Sheets fake."""
        return SheetsControl(self.env[SHEETS_API_URL])

    @property
    def sink(self) -> SinkControl:
        """Control API of the SendGrid/Telegram sink."""
        return SinkControl(self.env[SENDGRID_API_URL])

    def tap(self, topic: str) -> TopicTap:
        """A fresh pull subscription on ``topic``; make it before publishing, then ``.pull(n)``."""
        return TopicTap(self.pubsub, topic)

    def wipe_firestore(self) -> None:
        """Delete every document in the emulator's default database."""
        host = self.env[FIRESTORE_EMULATOR_HOST]
        url = f"http://{host}/emulator/v1/projects/{self.project}/databases/(default)/documents"
        request = urllib.request.Request(url, method="DELETE")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()

    def purge_subscriptions(self) -> None:
        """Drop every queued message of the declared and push subscriptions (seek to now; streams stay open)."""
        names = set(resources().subscriptions) | set(self._push)
        for name in sorted(names):
            self.pubsub.purge(name)

    def reset(self) -> None:
        """Empty Firestore, the sink and the Sheets fake, and drop messages queued in the subscriptions."""
        self.wipe_firestore()
        self.sink.clear()
        self.sheets.reset()
        self.purge_subscriptions()
