"""One reconcile pass of the gateway VM: containers follow the VM's ``gateways/{id}`` documents.

Writes (and nothing else): ``gateways/{id}.status`` (only that field, so an admin's concurrent edit is never
overwritten) and ``gateway_vms/{vm}``. Reads ``gateways/*``, ``followers/*`` (whose gateway waits for a 2FA) and
each gateway's login secret. Alerts on state changes: ``gateway.2fa_required`` (WARNING, with the follower of a
follower's own gateway), ``gateway.logged_in`` (INFO), ``gateway.failed`` (CRITICAL); and on a hung gateway
(``supervisor.hung``) ``gateway.restart_asked`` (CRITICAL, during trading hours) or ``gateway.restarted`` (WARNING).
Reads ``gateways/{id}.restart_approved_at``: an operator's approval of that restart.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Protocol

from google.api_core.exceptions import GoogleAPICallError, NotFound

from spreadpilot.envelopes import AlertMessage
from spreadpilot.errors import ConfigError
from spreadpilot.models import (
    Alert,
    Follower,
    Gateway,
    GatewayKind,
    GatewayState,
    GatewayStatus,
    GatewayVm,
    Severity,
)
from spreadpilot.publisher import Publisher
from spreadpilot.secrets import GatewayLogin, gateway_login_secret
from spreadpilot.store import GATEWAY_VMS, GATEWAYS, Store
from supervisor.hung import SELF_RESTARTS, HungWatch, Step, busy_hours
from supervisor.observe import LOGGED_IN, Observation, Probe, last_marker, state_of
from supervisor.runtime import ContainerRuntime

log = logging.getLogger("supervisor")

FOLLOWER_2FA_MESSAGE = (
    "IBKR asks you to approve a login: please open IBKR Mobile and approve the notification. SpreadPilot's IB "
    "Gateway for your account is waiting for it, and today's trades in your account wait until it is approved.")
REFRESH = timedelta(seconds=60)  # an unchanged status is written again this often (checked_at shows it is alive)
SOURCE = "supervisor"


class LoginReader(Protocol):
    """Reads a secret's value (``spreadpilot.secrets.Secrets``)."""

    def read(self, name: str, version: str = "latest") -> str:
        """The secret's latest value."""
        ...


def spec_digest(gateway: Gateway, login: GatewayLogin) -> str:
    """Changes when anything the container is started with changes (login, port, trading mode)."""
    text = f"{login.to_secret()}|{gateway.port}|{gateway.vnc_port}|{gateway.mode}"
    return hashlib.sha256(text.encode()).hexdigest()


class Supervisor:
    """Runs this VM's gateways; ``reconcile`` is one pass (the caller loops)."""

    def __init__(self, vm: str, capacity: int, memory_mb: int, store: Store, secrets: LoginReader,
                 runtime: ContainerRuntime, probe: Probe, publisher: Publisher, alerts_topic: str = "alerts",
                 hung_restart_after_s: float = 300.0) -> None:
        self.vm = vm
        self.capacity = capacity
        self.memory_mb = memory_mb
        self.store = store
        self.secrets = secrets
        self.runtime = runtime
        self.probe = probe
        self.publisher = publisher
        self.alerts_topic = alerts_topic
        self.hung = HungWatch(hung_restart_after_s)

    def reconcile(self, now: datetime) -> dict[str, GatewayStatus]:
        """Start, restart, stop and observe; write every gateway's status and the VM's report."""
        gateways = self.store.gateways.all()
        mine = sorted((g for g in gateways if g.vm == self.vm), key=lambda g: (g.created_at or now, g.id))
        admitted, refused = mine[: self.capacity], mine[self.capacity:]
        for gone in sorted(self.runtime.managed() - {g.id for g in admitted}):
            log.info("stopping gateway", extra={"gateway_id": gone})
            self.runtime.stop(gone)
            self.hung.forget(gone)
        statuses: dict[str, GatewayStatus] = {}
        for gateway in admitted:
            state, detail, accounts, hung = self._run(gateway, now)
            detail = self._if_hung(gateway, hung, detail, now)
            statuses[gateway.id] = self._report(gateway, now, state, detail, accounts)
        for gateway in refused:
            detail = f"VM {self.vm} is full ({self.capacity} gateways from {self.memory_mb} MB): remove one or add a VM"
            statuses[gateway.id] = self._report(gateway, now, GatewayState.FAILED, detail, ())
        report = GatewayVm(name=self.vm, capacity=self.capacity, memory_mb=self.memory_mb,
                           running=tuple(sorted(self.runtime.managed())), at=now)
        self.store.db.collection(GATEWAY_VMS).document(self.vm).set(report.to_doc())
        return statuses

    def _run(self, gateway: Gateway, now: datetime) -> tuple[GatewayState, str, tuple[str, ...], bool]:
        """Start what should run; the state seen, its detail, the accounts served and whether the gateway is hung
        (IBC logged in, the container runs, the API handshake does not complete)."""
        if gateway.secret_name is None:
            return GatewayState.FAILED, "the gateway has no login: set one in the web app", (), False
        try:
            # Always the gateway's own name in the gateway-only name space, whatever the document says.
            name = gateway_login_secret(gateway.id)
        except ValueError as exc:
            return GatewayState.FAILED, f"not a supervised gateway id: {exc}", (), False
        try:
            login = GatewayLogin.from_secret(self.secrets.read(name))
        except (ConfigError, GoogleAPICallError) as exc:
            log.error("gateway login unreadable", extra={"gateway_id": gateway.id, "error": type(exc).__name__})
            if gateway.id in self.runtime.managed():
                self.runtime.stop(gateway.id)
            return GatewayState.FAILED, f"its login secret cannot be read ({type(exc).__name__})", (), False
        digest = spec_digest(gateway, login)
        started = self.runtime.started(gateway.id)
        # A container keeps running across supervisor restarts when nothing it runs with changed (a restart costs a
        # 2FA); a new login, port or trading mode restarts it.
        if gateway.id not in self.runtime.managed() or started is None or started.digest != digest:
            log.info("starting gateway", extra={"gateway_id": gateway.id, "restart": started is not None})
            started = self.runtime.start(gateway, login, digest, now)
        active = self.runtime.active(gateway.id)
        accounts, error = self.probe(gateway) if active else (None, "container not running")
        seen = Observation(active=active, markers=self.runtime.log_lines(gateway.id, started.at),
                           accounts=accounts, probe_error=error)
        state, detail = state_of(seen, gateway.accounts)
        if accounts is not None:
            self.hung.answered(gateway.id)
        hung = active and accounts is None and last_marker(seen.markers) == LOGGED_IN
        return state, detail, tuple(accounts or ()), hung

    def _if_hung(self, gateway: Gateway, hung: bool, detail: str, now: datetime) -> str:
        """Restart a gateway hung for ``hung_restart_after_s`` (or whose data farm the executor reports broken)
        outside the busy hours, or once an operator approved; inside them ask an operator once. The detail to
        report."""
        wanted, started = gateway.restart_wanted, self.runtime.started(gateway.id)
        farms = wanted is not None and started is not None and wanted.at >= started.at  # not answered by a restart
        step, hung_s = self.hung.step(gateway.id, hung or farms, now, gateway.restart_approved_at,
                                      since=wanted.since if farms and wanted else None)
        silent = (f"the executor reports it broken for {hung_s:.0f} s ({wanted.why})" if farms and wanted else
                  f"its API has not answered for {hung_s:.0f} s although IB Gateway is logged in")
        if step is Step.RESTART:
            approved = gateway.restart_approved_at is not None and busy_hours(now)
            why = f"approved by {gateway.restart_approved_by}" if approved else "outside trading hours"
            log.warning("restarting a hung gateway", extra={"gateway_id": gateway.id, "hung_s": hung_s, "why": why})
            self.runtime.stop(gateway.id)  # the next pass starts it afresh
            self.hung.restarted(gateway.id, now)
            self._publish(gateway, Severity.WARNING, "gateway.restarted", f"gateway {gateway.id}: {silent}: "
                          f"restarted ({why})", now)
            return f"restarted: {silent} ({why})"
        if step is Step.ASK:
            in_vain = self.hung.restarting_in_vain(gateway.id, now)
            if self.hung.first_ask(gateway.id):
                why = (f"restarted {SELF_RESTARTS} times within the hour and still silent, so it is not restarted "
                       "again by itself: check the gateway (its API settings, its login)" if in_vain else
                       "Restarting it drops its sessions: approve the restart in the web app (Gateways, the gateway, "
                       "Restart); after 16:15 ET it is restarted without asking")
                self._publish(gateway, Severity.CRITICAL, "gateway.restart_asked",
                              f"gateway {gateway.id}: {silent}; entries and closes on it cannot go. {why}", now)
            return f"{silent}: approve a restart in the web app" + (" (restarts did not help)" if in_vain else "")
        return detail

    def _report(self, gateway: Gateway, now: datetime, state: GatewayState, detail: str,
                accounts: tuple[str, ...]) -> GatewayStatus:
        before = gateway.status
        same = before is not None and (before.state, before.detail, before.accounts_seen) == (state, detail, accounts)
        since = before.since if before is not None and before.state is state else now
        status = GatewayStatus(state=state, since=since, checked_at=now, vm=self.vm, detail=detail[:500],
                               accounts_seen=accounts)
        if same and before is not None and now - before.checked_at < REFRESH:
            return before
        try:
            self.store.db.collection(GATEWAYS).document(gateway.id).update({"status": status.to_doc()})
        except NotFound:
            return status  # removed meanwhile: the next pass stops its container
        if before is None or before.state is not state:
            log.info("gateway state", extra={"gateway_id": gateway.id, "state": str(state), "detail": detail})
            self._alert(gateway, status)
        return status

    def _alert(self, gateway: Gateway, status: GatewayStatus) -> None:
        follower = self._follower_of(gateway) if gateway.kind is GatewayKind.FOLLOWER else None
        if status.state is GatewayState.WAITING_FOR_2FA:
            who = f"follower {follower.id} (their own login)" if follower else "the advisor login's owner"
            alert = (Severity.WARNING, "gateway.2fa_required",
                     f"gateway {gateway.id} waits for its 2FA: {who} must approve the IBKR Mobile notification; "
                     "entries on it wait until it is logged in")
        elif status.state is GatewayState.LOGGED_IN:
            alert = (Severity.INFO, "gateway.logged_in", f"gateway {gateway.id} is logged in; entries on it go")
        elif status.state is GatewayState.FAILED:
            alert = (Severity.CRITICAL, "gateway.failed", f"gateway {gateway.id} failed: {status.detail}")
        else:
            return
        severity, kind, message = alert
        context = {"gateway_id": gateway.id, "state": str(status.state)}
        if follower and status.state is GatewayState.WAITING_FOR_2FA:
            # The alert router e-mails the follower too: it is their login that waits.
            context |= {"notify_follower": "email", "follower_email": follower.email,
                        "follower_message": FOLLOWER_2FA_MESSAGE}
        self._publish(gateway, severity, kind, message, status.checked_at, context=context,
                      follower_id=follower.id if follower else None,
                      alert_id=f"{SOURCE}-{gateway.id}-{status.state}-{status.since:%Y%m%d%H%M%S}")

    def _publish(self, gateway: Gateway, severity: Severity, kind: str, message: str, at: datetime, *,
                 context: dict[str, str] | None = None, follower_id: str | None = None,
                 alert_id: str | None = None) -> None:
        alert = Alert(alert_id=alert_id or f"{SOURCE}-{gateway.id}-{kind}-{at:%Y%m%d%H%M%S}", type=kind,
                      severity=severity, message=message, at=at, source=SOURCE, follower_id=follower_id,
                      context=context or {"gateway_id": gateway.id})
        try:
            self.publisher.publish(self.alerts_topic, AlertMessage(alert=alert))
        except Exception:  # an alert channel failing must never stop supervising the other gateways
            log.exception("alert publish failed", extra={"gateway_id": gateway.id, "alert_type": kind})

    def _follower_of(self, gateway: Gateway) -> Follower | None:
        on_it = sorted((f for f in self.store.followers.all() if f.gateway_id == gateway.id), key=lambda f: f.id)
        return on_it[0] if on_it else None
