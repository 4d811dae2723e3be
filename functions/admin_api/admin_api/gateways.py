"""Gateways as data: an admin adds, edits and removes IB Gateways (``gateways/{id}``) and their logins.

A login (username, password) goes to Secret Manager under the gateway-only name space ``gateway-login-<id>``
(``spreadpilot.secrets``) before the document that names it exists, and is never echoed: responses, logs and the
audit log carry ``has_login`` and field names only. The gateway VM's supervisor sees the document, starts the
container with the login, and reports the gateway's state in ``status``; it also reports each VM's capacity in
``gateway_vms/{name}``, which a new gateway must fit in (a full VM is refused, naming its capacity).

Removing a gateway deletes the document (the supervisor stops its container), then the login; followers that
pointed at it are named in a CRITICAL alert, since their entries are skipped from then on.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from admin_api import views
from admin_api.deps import Deps, Route
from admin_api.http import ApiError, ApiResponse, Call, not_found
from spreadpilot.envelopes import AlertMessage
from spreadpilot.models import (
    GATEWAY_ID_PATTERN,
    Alert,
    Follower,
    Gateway,
    GatewayKind,
    GatewayVm,
    Severity,
)
from spreadpilot.resources import ALERTS
from spreadpilot.secrets import GatewayLogin, gateway_login_secret
from spreadpilot.store import GATEWAY_VMS

log = logging.getLogger("admin_api.gateways")

CLIENT_ID = 1  # the executor's API client id on every gateway (the health probe uses 999)


class GatewayCreate(BaseModel):
    """A new gateway and its login; the login is stored in Secret Manager only."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(pattern=GATEWAY_ID_PATTERN, description="lower-case letters, digits and dashes")
    kind: GatewayKind = Field(description="advisor: one login serving many accounts; follower: one follower's login")
    accounts: list[str] = Field(min_length=1, max_length=1000, description="the IBKR accounts the login serves")
    mode: str = Field(default="paper", pattern="^(paper|live)$")
    vm: str | None = Field(default=None, min_length=1, max_length=63, description="default: the VM with most room")
    username: str = Field(min_length=1, max_length=200)
    password: SecretStr = Field(min_length=1, max_length=500)


class GatewayUpdate(BaseModel):
    """Fields to change; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    accounts: list[str] | None = Field(default=None, min_length=1, max_length=1000)
    mode: str | None = Field(default=None, pattern="^(paper|live)$")


class LoginChange(BaseModel):
    """A new login for a gateway (a new secret version; the supervisor restarts the container with it)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: str = Field(min_length=1, max_length=200)
    password: SecretStr = Field(min_length=1, max_length=500)


def gateway_view(gateway: Gateway, followers: list[Follower]) -> dict[str, object]:
    """What the API shows of a gateway: its document (a secret's name, never a value) and who trades on it."""
    doc = gateway.to_doc()
    doc["has_login"] = gateway.secret_name is not None
    doc["entry_gate"] = str(gateway.entry_gate())
    doc["followers"] = sorted(f.id for f in followers if f.gateway_id == gateway.id)
    return doc


def _invalid(exc: ValidationError, what: str) -> ApiError:
    problems = [{"where": "body." + ".".join(str(p) for p in err["loc"]), "message": err["msg"]}
                for err in exc.errors(include_input=False, include_url=False)]
    summary = "; ".join(f"{p['where']}: {p['message']}" for p in problems)
    return ApiError(400, f"invalid {what}: {summary}", where="body", problems=problems)


def vms(deps: Deps) -> dict[str, GatewayVm]:
    """The gateway VMs whose supervisors have reported, by name."""
    found = {}
    for snap in deps.store.db.collection(GATEWAY_VMS).stream():
        try:
            found[snap.id] = GatewayVm.model_validate(snap.to_dict() or {})
        except ValidationError:
            log.error("malformed gateway VM report skipped", extra={"vm": snap.id})
    return found


def _choose_vm(deps: Deps, wanted: str | None, gateways: list[Gateway]) -> str:
    reported = vms(deps)
    if not reported:
        raise ApiError(409, "no gateway VM has reported to Firestore yet (gateway_vms/): start the supervisor on the "
                       "VM, or wait for its first report", where="body.vm")
    used = {name: sum(1 for g in gateways if g.vm == name) for name in reported}
    if wanted is not None and wanted not in reported:
        raise ApiError(400, f"no gateway VM {wanted!r}; known: {', '.join(sorted(reported))}", where="body.vm")
    candidates = [wanted] if wanted else sorted(reported, key=lambda n: (used[n] - reported[n].capacity, n))
    for name in candidates:
        if used[name] < reported[name].capacity:
            return name
    full = ", ".join(f"{n} {used[n]} of {reported[n].capacity}" for n in candidates)
    raise ApiError(409, f"gateway VM full ({full} gateways, from its memory): remove a gateway or add a VM",
                   where="body.vm")


def _free_port(base: int, taken: set[int]) -> int:
    port = base
    while port in taken:
        port += 1
    return port


def _follower_ids(deps: Deps, gateway_id: str) -> list[str]:
    return sorted(f.id for f in deps.store.followers.all() if f.gateway_id == gateway_id)


def list_gateways(deps: Deps, call: Call) -> object:
    followers = deps.store.followers.all()
    # The executor's view of each connection (its heartbeat), beside the supervisor's view of each container.
    connections = {row["id"]: row for row in views.gateways(deps, call)["gateways"]}
    rows = []
    for gateway in sorted(deps.store.gateways.all(), key=lambda g: g.id):
        live = connections.get(gateway.id, {})
        rows.append({**gateway_view(gateway, followers), "connected": live.get("connected"),
                     "connected_since": live.get("since")})
    return {"gateways": rows, "vms": [vm.to_doc() for vm in sorted(vms(deps).values(), key=lambda v: v.name)]}


def get_gateway(deps: Deps, call: Call) -> object:
    gateway_id = call.param("gateway_id")
    gateway = deps.store.gateways.get(gateway_id)
    if gateway is None:
        raise not_found("gateway", gateway_id)
    return gateway_view(gateway, deps.store.followers.all())


def create_gateway(deps: Deps, call: Call) -> object:
    body = call.body(GatewayCreate)
    existing = deps.store.gateways.all()
    if any(g.id == body.id for g in existing):
        raise ApiError(409, f"gateway {body.id!r} already exists", where="body.id")
    vm = _choose_vm(deps, body.vm, existing)
    on_vm = [g for g in existing if g.vm == vm]
    settings = deps.settings
    try:
        gateway = Gateway(
            id=body.id, kind=body.kind, accounts=tuple(dict.fromkeys(body.accounts)), mode=body.mode, vm=vm,
            port=_free_port(settings.gateway_port_base, {g.port for g in on_vm}),
            vnc_port=_free_port(settings.gateway_vnc_port_base, {g.vnc_port for g in on_vm if g.vnc_port}),
            client_id=CLIENT_ID, secret_name=gateway_login_secret(body.id), created_at=call.now, updated_at=call.now)
    except ValidationError as exc:
        raise _invalid(exc, "gateway") from exc
    # The login first: a gateway document never names a secret that does not exist.
    deps.secrets.write(gateway_login_secret(body.id),
                       GatewayLogin(username=body.username, password=body.password).to_secret())
    if not deps.store.gateways.create(gateway):
        raise ApiError(409, f"gateway {body.id!r} already exists", where="body.id")
    deps.store.audit("gateway.create", actor=call.principal.actor, source="web", at=call.now.isoformat(),
                     gateway_id=gateway.id, kind=str(gateway.kind), accounts=list(gateway.accounts), vm=vm, login=True)
    log.info("gateway created", extra={"gateway_id": gateway.id, "vm": vm, "actor": call.principal.actor})
    return ApiResponse(201, gateway_view(gateway, []))


def update_gateway(deps: Deps, call: Call) -> object:
    gateway_id = call.param("gateway_id")
    body = call.body(GatewayUpdate)
    current = deps.store.gateways.get(gateway_id)
    if current is None:
        raise not_found("gateway", gateway_id)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if any(v is None for v in changes.values()):
        raise ApiError(400, "fields cannot be set to null", where="body")
    followers = deps.store.followers.all()
    if "accounts" in changes:
        changes["accounts"] = tuple(dict.fromkeys(changes["accounts"]))
        orphaned = sorted(f"{f.id} ({f.ibkr_account})" for f in followers
                          if f.gateway_id == gateway_id and f.ibkr_account not in changes["accounts"])
        if orphaned:
            raise ApiError(409, f"followers trade on accounts this change removes: {', '.join(orphaned)}; move them "
                           "to another gateway first", where="body.accounts")
    try:
        updated = Gateway.model_validate({**current.to_doc(), **changes, "updated_at": call.now})
    except ValidationError as exc:
        raise _invalid(exc, "gateway") from exc
    # Only the fields an admin owns: ``status`` is the supervisor's, written concurrently.
    deps.store.gateways.ref(gateway_id).update({k: updated.to_doc()[k] for k in (*changes, "updated_at")})
    deps.store.audit("gateway.update", actor=call.principal.actor, source="web", at=call.now.isoformat(),
                     gateway_id=gateway_id, fields=sorted(changes), values={k: str(v) for k, v in changes.items()})
    return gateway_view(updated, followers)


def change_login(deps: Deps, call: Call) -> object:
    gateway_id = call.param("gateway_id")
    body = call.body(LoginChange)
    current = deps.store.gateways.get(gateway_id)
    if current is None:
        raise not_found("gateway", gateway_id)
    name = gateway_login_secret(gateway_id)
    deps.secrets.write(name, GatewayLogin(username=body.username, password=body.password).to_secret())
    if current.secret_name != name:
        deps.store.gateways.ref(gateway_id).update({"secret_name": name, "updated_at": call.now.isoformat()})
        current = current.model_copy(update={"secret_name": name})
    deps.store.audit("gateway.login", actor=call.principal.actor, source="web", at=call.now.isoformat(),
                     gateway_id=gateway_id, fields=["password", "username"])
    log.info("gateway login changed", extra={"gateway_id": gateway_id, "actor": call.principal.actor})
    return gateway_view(current, deps.store.followers.all())


def approve_restart(deps: Deps, call: Call) -> object:
    """An operator approves restarting a hung gateway's container during trading hours (the supervisor asked)."""
    gateway_id = call.param("gateway_id")
    current = deps.store.gateways.get(gateway_id)
    if current is None:
        raise not_found("gateway", gateway_id)
    if current.vm is None:
        raise ApiError(409, f"gateway {gateway_id} runs on no gateway VM (started by hand): restart it where it "
                       "runs", where="gateway_id")
    changes = {"restart_approved_at": call.now.isoformat(), "restart_approved_by": call.principal.actor}
    deps.store.gateways.ref(gateway_id).update(changes)
    deps.store.audit("gateway.restart", actor=call.principal.actor, source="web", at=call.now.isoformat(),
                     gateway_id=gateway_id, state=str(current.status.state) if current.status else "unreported")
    log.info("gateway restart approved", extra={"gateway_id": gateway_id, "actor": call.principal.actor})
    approved = current.model_copy(update={"restart_approved_at": call.now,
                                          "restart_approved_by": call.principal.actor})
    return gateway_view(approved, deps.store.followers.all())


def remove_gateway(deps: Deps, call: Call) -> object:
    gateway_id = call.param("gateway_id")
    current = deps.store.gateways.get(gateway_id)
    if current is None:
        raise not_found("gateway", gateway_id)
    stranded = _follower_ids(deps, gateway_id)
    deps.store.gateways.ref(gateway_id).delete()
    if current.secret_name and re.fullmatch(GATEWAY_ID_PATTERN, gateway_id):
        deps.secrets.delete(gateway_login_secret(gateway_id))  # its own name in the gateway name space, always
    deps.store.audit("gateway.remove", actor=call.principal.actor, source="web", at=call.now.isoformat(),
                     gateway_id=gateway_id, followers=stranded)
    if stranded:
        alert = Alert(alert_id=f"gateway-removed-{gateway_id}-{call.now:%Y%m%d%H%M%S}", type="gateway.removed",
                      severity=Severity.CRITICAL, source="admin_api", at=call.now,
                      message=f"gateway {gateway_id} was removed by {call.principal.actor}; followers without a "
                      f"gateway now (their entries are skipped): {', '.join(stranded)}",
                      context={"gateway_id": gateway_id, "followers": ",".join(stranded)})
        deps.publisher.publish(ALERTS, AlertMessage(alert=alert))
    log.info("gateway removed", extra={"gateway_id": gateway_id, "followers": stranded, "actor": call.principal.actor})
    return {"removed": gateway_id, "followers_without_gateway": stranded}


ROUTES = [
    Route("GET", "/gateways", list_gateways, "Gateways with their state, followers and the VMs' capacity"),
    Route("POST", "/gateways", create_gateway, "Add a gateway; its login goes to Secret Manager only",
          changes=True, body="GatewayCreate"),
    Route("GET", "/gateways/{gateway_id}", get_gateway, "One gateway"),
    Route("PATCH", "/gateways/{gateway_id}", update_gateway, "Change a gateway's accounts or trading mode",
          changes=True, body="GatewayUpdate"),
    Route("POST", "/gateways/{gateway_id}/login", change_login, "Replace a gateway's login (a new secret version)",
          changes=True, body="LoginChange"),
    Route("POST", "/gateways/{gateway_id}/restart", approve_restart, "Approve restarting a hung gateway's "
          "container (its supervisor restarts it on its next pass, if it is still hung)", changes=True),
    Route("POST", "/gateways/{gateway_id}/remove", remove_gateway, "Remove a gateway: its container stops, its "
          "login is deleted, its followers are alerted", changes=True),
]
