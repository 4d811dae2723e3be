"""A gateway's state from what can be seen of it: its container, IBC's log lines, an API handshake.

IBC (inside the image) logs these lines (IbcAlpha/IBC ``LoginManager`` and its dialog handlers):
``Second Factor Authentication initiated`` when the 2FA prompt opens, ``Login has completed`` when the session is up,
``Login failed`` or ``Unrecognized Username or Password`` when IBKR refuses the login, and
``IBC closing after Second Factor Authentication dialog timeout`` when nobody approved in time (IBC then restarts
and prompts again). Only the last marker since the container started counts; a completed API handshake (accounts
and next order id) is the proof of ``logged_in`` whatever the log says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from spreadpilot.models import Gateway, GatewayState

TWO_FA_STARTED = "Second Factor Authentication initiated"
LOGGED_IN = "Login has completed"
LOGIN_FAILED = "Login failed"
BAD_LOGIN = "Unrecognized Username or Password"
TWO_FA_TIMEOUT = "IBC closing after Second Factor Authentication dialog timeout"
MARKERS = (TWO_FA_STARTED, LOGGED_IN, LOGIN_FAILED, BAD_LOGIN, TWO_FA_TIMEOUT)

Probe = Callable[[Gateway], tuple[list[str] | None, str]]  # (accounts of a completed handshake or None, why not)


@dataclass(frozen=True)
class Observation:
    """One look at a gateway: is its container up, IBC's markers since it started, the handshake's result."""

    active: bool
    markers: Sequence[str] = ()
    accounts: Sequence[str] | None = None  # managedAccounts of a completed handshake; None = it did not complete
    probe_error: str = ""


def last_marker(lines: Sequence[str]) -> str | None:
    """The last IBC marker among log lines (each line may carry other text around it)."""
    found = None
    for line in lines:
        for marker in MARKERS:
            if marker in line:
                found = marker
    return found


def state_of(seen: Observation, wanted_accounts: Sequence[str]) -> tuple[GatewayState, str]:
    """The state and a one-line detail for an operator."""
    if seen.accounts is not None:
        missing = sorted(set(wanted_accounts) - set(seen.accounts))
        detail = f"accounts not served by this login: {', '.join(missing)}" if missing else ""
        return GatewayState.LOGGED_IN, detail
    if not seen.active:
        return GatewayState.STARTING, "container not running (systemd restarts it)"
    marker = last_marker(seen.markers)
    if marker in (TWO_FA_STARTED, TWO_FA_TIMEOUT):
        detail = "approve the login on IBKR Mobile" if marker == TWO_FA_STARTED else \
            "the 2FA prompt timed out; IBC prompts again: approve it on IBKR Mobile"
        return GatewayState.WAITING_FOR_2FA, detail
    if marker in (LOGIN_FAILED, BAD_LOGIN):
        return GatewayState.FAILED, f"IBKR refused the login ({marker}): change the gateway's login"
    if marker == LOGGED_IN:
        return GatewayState.STARTING, f"logged in, the API does not answer yet ({seen.probe_error or 'no answer'})"
    return GatewayState.STARTING, "IB Gateway is starting"
