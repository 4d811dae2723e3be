"""How many IB Gateway containers fit on this VM."""

from __future__ import annotations

from pathlib import Path

PER_GATEWAY_MB = 1024  # IB Gateway uses ~0.6-1 GB; plan for the top of that range
RESERVED_MB = 1536  # the executor, the supervisor, Docker and the OS


def memory_mb(meminfo: Path = Path("/proc/meminfo")) -> int:
    """MemTotal of this machine in MiB."""
    for line in meminfo.read_text(encoding="utf-8").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise ValueError(f"{meminfo} has no MemTotal line")


def capacity(total_mb: int, setting: int = 0) -> int:
    """Gateways this VM may run: the setting if given, else what its memory holds after the reserve."""
    if setting:
        return setting
    return max(0, (total_mb - RESERVED_MB) // PER_GATEWAY_MB)
