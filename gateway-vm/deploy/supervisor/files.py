"""The per-gateway files the ``ib-gateway@<id>`` and ``spreadpilot-healthprobe@<id>`` units read (no secret values:
the login name is in ``<id>.userid.env`` and the passwords are files, written by the runtime with tight modes)."""

from __future__ import annotations

from spreadpilot.models import Gateway

CONTAINER_API_PORT = {"live": 4003, "paper": 4004}  # the image's socat relays to the gateway's 4001 / 4002


def unit_env(gateway: Gateway, image: str) -> str:
    """``/etc/spreadpilot/gateways/<id>.env``: what the ib-gateway@ and probe units expand."""
    lines = {
        "IMAGE": image,
        "TRADING_MODE": gateway.mode,
        "API_PORT": str(gateway.port),
        "VNC_PORT": str(gateway.vnc_port or 0),
        "CONTAINER_API_PORT": str(CONTAINER_API_PORT[gateway.mode]),
    }
    return "".join(f"{k}={v}\n" for k, v in lines.items())


def container_env(gateway: Gateway, restart_time: str) -> str:
    """``/etc/spreadpilot/gateways/<id>.container.env``: IBC's settings inside the container."""
    lines = {
        "TRADING_MODE": gateway.mode,
        "TWS_PASSWORD_FILE": "/run/secrets/password",
        "VNC_SERVER_PASSWORD_FILE": "/run/secrets/vnc-password",
        "READ_ONLY_API": "no",
        "TWS_SETTINGS_PATH": "/home/ibgateway/tws_settings",
        "SAVE_TWS_SETTINGS": "yes",
        # IBC restarts the gateway daily outside market hours; with the settings volume kept, no 2FA is needed.
        "AUTO_RESTART_TIME": restart_time,
        "TIME_ZONE": "America/New_York",
        "TZ": "America/New_York",
        "TWOFA_TIMEOUT_ACTION": "restart",
        "RELOGIN_AFTER_TWOFA_TIMEOUT": "yes",
        "EXISTING_SESSION_DETECTED_ACTION": "primary",
        "BYPASS_WARNING": "yes",
    }
    return "".join(f"{k}={v}\n" for k, v in lines.items())


def userid_env(username: str) -> str:
    """``<id>.userid.env``: the image reads the login name from TWS_USERID only (it has no _FILE variant)."""
    if "\n" in username or "\r" in username:
        raise ValueError("a login name cannot contain a line break")
    return f"TWS_USERID={username}\n"
