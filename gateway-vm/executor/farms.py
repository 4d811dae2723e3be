"""IB Gateway's data farms, as its status codes tell them: which are broken, and since when.

On every connection, and whenever one changes, the gateway says each farm's state (codes with the farm's name
after a colon, e.g. ``2103 Market data farm connection is broken:usopt``). A farm broken for minutes leaves the
gateway up and logged in while quotes, contract details or history no longer come; the cure is a restart of the
gateway, which the executor asks of the VM's supervisor (``gateways/{id}.restart_wanted``; ``GatewayLink``).
"""

from __future__ import annotations

from datetime import datetime

# code → (farm family, broken?); "inactive, available on demand" (2107/2108) is a healthy farm at rest
FARM_CODES: dict[int, tuple[str, bool]] = {
    2103: ("market data", True), 2104: ("market data", False), 2108: ("market data", False),
    2105: ("historical data", True), 2106: ("historical data", False), 2107: ("historical data", False),
    2157: ("security definition", True), 2158: ("security definition", False),
}


class FarmWatch:
    """The farms of one gateway session that are broken now, each with when it broke."""

    def __init__(self) -> None:
        self.broken: dict[tuple[str, str], datetime] = {}

    def seen(self, code: int, message: str, at: datetime) -> None:
        """One farm status code; any other code is ignored."""
        if code not in FARM_CODES:
            return
        family, broken = FARM_CODES[code]
        farm = (family, message.rsplit(":", 1)[-1].strip() if ":" in message else "")
        if broken:
            self.broken.setdefault(farm, at)
        else:
            self.broken.pop(farm, None)

    def broken_since(self) -> datetime | None:
        """When the longest-broken farm broke, or None while every farm is fine."""
        return min(self.broken.values(), default=None)

    def describe(self) -> str:
        """The broken farms, as an operator reads them."""
        return ", ".join(f"{family} farm {name or '(unnamed)'} since {at:%H:%M:%S} UTC"
                         for (family, name), at in sorted(self.broken.items(), key=lambda kv: kv[1]))

    def clear(self) -> None:
        """A new session: the gateway says every farm's state again."""
        self.broken.clear()
