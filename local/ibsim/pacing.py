"""IB's pacing rule: at most ``limit`` messages per second per client connection (error 100 beyond it)."""

from __future__ import annotations

from collections import deque

WINDOW_S = 1.0


class Pacer:
    """Counts a connection's incoming messages over the last second."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._times: deque[float] = deque()

    def admit(self, at: float) -> bool:
        """Record a message arriving at ``at`` (monotonic seconds); False when it breaks the limit."""
        if self.limit <= 0:
            return True
        while self._times and at - self._times[0] >= WINDOW_S:
            self._times.popleft()
        if len(self._times) >= self.limit:
            return False
        self._times.append(at)
        return True

    def rate(self) -> int:
        """Messages counted in the current window."""
        return len(self._times)
