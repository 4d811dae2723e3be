"""The simulator's settings: read once from the command line (or built by tests) and passed down."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class FillMode(StrEnum):
    """When a marketable order fills."""

    IMMEDIATE = "immediate"  # in the same breath as the acknowledgement
    DELAYED = "delayed"  # ``fill_delay_s`` simulated seconds after it becomes marketable
    PARTIAL = "partial"  # one contract at a time, ``fill_delay_s`` apart
    NEVER = "never"  # rests until cancelled (ladder and cancel tests)


@dataclass
class SimConfig:
    """Everything the simulator can be told at start; mutable at run time through the control channel."""

    accounts: list[str]
    host: str = "127.0.0.1"
    port: int = 4002
    control_port: int | None = None
    seed: int = 0
    journal_path: str | None = None
    scenario_path: str | None = None
    funds: dict[str, Decimal] = field(default_factory=dict)
    default_funds: Decimal = Decimal("100000")
    volatility: float = 0.20
    rate: float = 0.04
    # Half of each option's bid/ask spread is a fraction of its model price, bounded below by half a tick.
    spread_fraction: float = 0.04
    slippage: Decimal = Decimal("0")
    fill_mode: FillMode = FillMode.IMMEDIATE
    fill_delay_s: float = 1.0
    commission_per_contract: Decimal = Decimal("0.65")
    underlying: float = 480.0
    tick_interval_s: float = 0.5
    first_order_id: int = 1
    # IB allows 50 messages/s per client connection. Off by default: ib_async's own 45/s throttle sends in bursts
    # that a strict one-second window on arrival times would flag, which real gateways tolerate.
    max_message_rate: int = 0
    # IB Gateway's "Maintain and resubmit orders when connection is restored" (on by default since 10.28): an order
    # received while the gateway has no link to IBKR's servers (error 1100) is kept, PreSubmitted, and sent when the
    # link returns. Off: such an order is not kept; the simulator rejects it (error 201) at once.
    resubmit_on_restore: bool = True

    def funds_of(self, account: str) -> Decimal:
        """Starting cash of one account."""
        return self.funds.get(account, self.default_funds)
