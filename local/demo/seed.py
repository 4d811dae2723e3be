"""Demo followers and gateways: Firestore documents and the simulator accounts they point at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from demo.scenario import FollowerSpec
from spreadpilot.models import Follower, Gateway

ADVISOR_GATEWAY = "gw-advisor"


def demo_iban(n: int) -> str:
    """A valid (checksummed) German IBAN for demo follower ``n``."""
    bban = f"37040044{n:010d}"
    numeric = "".join(str(int(ch, 36)) for ch in bban + "DE00")
    return f"DE{98 - int(numeric) % 97:02d}{bban}"


def account_for(index: int) -> str:
    """The simulator account of the ``index``-th follower (1-based)."""
    return f"DU{index:05d}"


@dataclass(frozen=True)
class Seed:
    followers: list[Follower]
    gateways: list[Gateway]
    funds: dict[str, str]  # account → available funds override at the simulator


def build_seed(specs: list[FollowerSpec], *, per_follower_gateways: bool, ports: list[int], now: datetime) -> Seed:
    """Followers and gateways for the demo; ``ports`` are the simulators' ports (one, or one per follower)."""
    followers: list[Follower] = []
    gateways: dict[str, Gateway] = {}
    funds: dict[str, str] = {}
    for index, spec in enumerate(specs, start=1):
        account = spec.account or account_for(index)
        if per_follower_gateways:
            gateway_id = spec.gateway or f"gw-{spec.id}"
            gateways[gateway_id] = Gateway(id=gateway_id, port=ports[index - 1], client_id=1)
        else:
            gateway_id = spec.gateway or ADVISOR_GATEWAY
            gateways.setdefault(gateway_id, Gateway(id=gateway_id, port=ports[0], client_id=1))
        if spec.funds is not None:
            funds[account] = str(spec.funds)
        followers.append(
            Follower(
                id=spec.id,
                name=f"Demo follower {spec.id}",
                email=f"{spec.id}@followers.example.com",
                iban=demo_iban(index),
                commission_pct=spec.commission_pct,
                enabled=spec.enabled,
                gateway_id=gateway_id,
                ibkr_account=account,
                multiplier=spec.multiplier,
                max_contracts=spec.max_contracts,
                daily_loss_limit=spec.daily_loss_limit,
                created_at=now,
            )
        )
    return Seed(followers, list(gateways.values()), funds)
