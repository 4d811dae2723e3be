"""Followers: list, read, create, edit, enable/disable.

A follower trades on an existing gateway (``gateways/{id}``) and one of the accounts it serves: an unknown gateway
or account is refused here, never skipped later. IBKR logins belong to gateways (``admin_api.gateways``; a
follower's own login is a gateway of kind ``follower``), so a follower carries none. A response never carries a
full IBAN (``iban_masked`` instead); logs and the audit log carry field names, never IBANs.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from admin_api.deps import Deps, Route
from admin_api.eventlog import note
from admin_api.http import ApiError, ApiResponse, Call, not_found
from spreadpilot.models import Follower, mask_iban
from spreadpilot.store import CONTROLS

log = logging.getLogger("admin_api.followers")

_FOLLOWER_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_SENSITIVE = {"iban"}


class FollowerCreate(BaseModel):
    """A new follower on an existing gateway and one of its accounts."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(pattern=_FOLLOWER_ID, description="follower id (letters, digits, _ and -)")
    name: str
    email: str
    iban: str
    commission_pct: Decimal
    gateway_id: str
    ibkr_account: str
    multiplier: Decimal = Decimal(1)
    max_contracts: int = 10
    daily_loss_limit: Decimal = Decimal(2000)
    enabled: bool = True


class FollowerUpdate(BaseModel):
    """Fields to change; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = None
    email: str | None = None
    iban: str | None = None
    commission_pct: Decimal | None = None
    gateway_id: str | None = None
    ibkr_account: str | None = None
    multiplier: Decimal | None = None
    max_contracts: int | None = None
    daily_loss_limit: Decimal | None = None
    enabled: bool | None = None


def follower_view(follower: Follower, control: dict[str, Any] | None = None) -> dict[str, object]:
    """What the API shows of a follower: no IBAN in full, no secret (only whether one is stored)."""
    doc = follower.to_doc()
    doc.pop("iban", None)
    doc["iban_masked"] = mask_iban(follower.iban)
    doc["has_ibkr_credentials"] = follower.ibkr_secret_name is not None
    doc["entries_paused"] = bool((control or {}).get("entries_paused", False))
    return doc


def _validated(data: dict[str, Any]) -> Follower:
    try:
        return Follower.model_validate(data)
    except ValidationError as exc:
        problems = [{"where": "body." + ".".join(str(p) for p in err["loc"]), "message": err["msg"]}
                    for err in exc.errors(include_input=False, include_url=False)]
        summary = "; ".join(f"{p['where']}: {p['message']}" for p in problems)
        raise ApiError(400, f"invalid follower: {summary}", where="body", problems=problems) from exc


def _controls(deps: Deps, ids: list[str]) -> dict[str, dict[str, Any]]:
    refs = [deps.store.db.collection(CONTROLS).document(i) for i in ids]
    return {snap.id: snap.to_dict() or {} for snap in deps.store.db.get_all(refs) if snap.exists} if refs else {}


def _check_gateway(deps: Deps, follower: Follower) -> None:
    """The follower's gateway exists and serves its account, or 400 naming what does."""
    gateway = deps.store.gateways.get(follower.gateway_id)
    if gateway is None:
        known = ", ".join(sorted(g.id for g in deps.store.gateways.all())) or "none yet: add one under Gateways"
        raise ApiError(400, f"unknown gateway {follower.gateway_id!r}; existing gateways: {known}",
                       where="body.gateway_id")
    if not gateway.serves(follower.ibkr_account):
        raise ApiError(400, f"gateway {gateway.id} does not serve account {follower.ibkr_account}; it serves "
                       f"{', '.join(gateway.accounts)}", where="body.ibkr_account")


def list_followers(deps: Deps, call: Call) -> object:
    followers = sorted(deps.store.followers.all(), key=lambda f: f.id)
    controls = _controls(deps, [f.id for f in followers])
    return {"followers": [follower_view(f, controls.get(f.id)) for f in followers]}


def get_follower(deps: Deps, call: Call) -> object:
    follower_id = call.param("follower_id")
    follower = deps.store.followers.get(follower_id)
    if follower is None:
        raise not_found("follower", follower_id)
    return follower_view(follower, _controls(deps, [follower_id]).get(follower_id))


def create_follower(deps: Deps, call: Call) -> object:
    body = call.body(FollowerCreate)
    fields = body.model_dump()
    follower = _validated({**fields, "created_at": call.now})
    if deps.store.followers.get(follower.id) is not None:
        raise ApiError(409, f"follower {follower.id!r} already exists", where="body.id")
    _check_gateway(deps, follower)
    if not deps.store.followers.create(follower):
        raise ApiError(409, f"follower {follower.id!r} already exists", where="body.id")
    deps.store.audit("follower.create", actor=call.principal.actor, source="web", at=call.now.isoformat(),
                     follower_id=follower.id, fields=sorted(fields))
    log.info("follower created", extra={"follower_id": follower.id, "actor": call.principal.actor})
    note(deps, call, "follower.created", f"follower {follower.id} created", follower_id=follower.id)
    return ApiResponse(201, follower_view(follower))


def update_follower(deps: Deps, call: Call) -> object:
    follower_id = call.param("follower_id")
    body = call.body(FollowerUpdate)
    current = deps.store.followers.get(follower_id)
    if current is None:
        raise not_found("follower", follower_id)
    changes = body.model_dump(exclude_unset=True)
    nulls = sorted(k for k, v in changes.items() if v is None)
    if nulls:
        raise ApiError(400, f"fields cannot be set to null: {', '.join(nulls)}", where="body")
    updated = _validated({**current.to_doc(), **changes})
    if {"gateway_id", "ibkr_account"} & set(changes):
        _check_gateway(deps, updated)
    deps.store.followers.put(updated)
    deps.store.audit("follower.update", actor=call.principal.actor, source="web", at=call.now.isoformat(),
                     follower_id=follower_id, fields=sorted(changes),
                     values={k: str(v) for k, v in changes.items() if k not in _SENSITIVE})
    log.info("follower updated", extra={"follower_id": follower_id, "fields": sorted(changes),
                                        "actor": call.principal.actor})
    note(deps, call, "follower.updated", f"follower {follower_id} changed: {', '.join(sorted(changes))}",
         follower_id=follower_id)
    return follower_view(updated, _controls(deps, [follower_id]).get(follower_id))


def _set_enabled(deps: Deps, call: Call, enabled: bool) -> object:
    follower_id = call.param("follower_id")
    current = deps.store.followers.get(follower_id)
    if current is None:
        raise not_found("follower", follower_id)
    updated = current.model_copy(update={"enabled": enabled})
    deps.store.followers.put(updated)
    action = "follower.enable" if enabled else "follower.disable"
    deps.store.audit(action, actor=call.principal.actor, source="web", at=call.now.isoformat(),
                     follower_id=follower_id)
    log.info(action, extra={"follower_id": follower_id, "actor": call.principal.actor})
    note(deps, call, f"{action}d", f"follower {follower_id} {'enabled' if enabled else 'disabled'}",
         follower_id=follower_id)
    return follower_view(updated, _controls(deps, [follower_id]).get(follower_id))


def enable_follower(deps: Deps, call: Call) -> object:
    return _set_enabled(deps, call, True)


def disable_follower(deps: Deps, call: Call) -> object:
    return _set_enabled(deps, call, False)


ROUTES = [
    Route("GET", "/followers", list_followers, "List followers (IBAN masked, entries_paused from controls)"),
    Route("POST", "/followers", create_follower, "Create a follower on an existing gateway and one of its accounts",
          changes=True, body="FollowerCreate"),
    Route("GET", "/followers/{follower_id}", get_follower, "Read one follower"),
    Route("PATCH", "/followers/{follower_id}", update_follower, "Edit sizing, risk limits, commission, IBAN, "
          "gateway/account", changes=True, body="FollowerUpdate"),
    Route("POST", "/followers/{follower_id}/enable", enable_follower, "Enable a follower", changes=True),
    Route("POST", "/followers/{follower_id}/disable", disable_follower, "Disable a follower", changes=True),
]
