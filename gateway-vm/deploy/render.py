#!/usr/bin/env python3
"""Turn the VM's settings (instance metadata ``spreadpilot-config``) into the files the units read.

One function per file so a test can check each; ``main`` writes them all under a root folder (``/`` on the VM).
Secrets are not handled here: startup.sh writes them to ``/etc/spreadpilot/secrets/<gateway>/`` (mode 0400).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

CONTAINER_API_PORT = {"live": 4003, "paper": 4004}  # the image's socat relays to the gateway's 4001 / 4002


def gateway_unit_env(config: dict[str, Any], gateway: str) -> str:
    """``/etc/spreadpilot/gateways/<id>.env``: what the ib-gateway@ and probe units expand."""
    ports = config["gateways"][gateway]
    lines = {
        "IMAGE": config["image"],
        "TRADING_MODE": config["trading_mode"],
        "API_PORT": str(ports["api_port"]),
        "VNC_PORT": str(ports["vnc_port"]),
        "CONTAINER_API_PORT": str(CONTAINER_API_PORT[config["trading_mode"]]),
    }
    return "".join(f"{k}={v}\n" for k, v in lines.items())


def gateway_container_env(config: dict[str, Any], gateway: str) -> str:
    """``/etc/spreadpilot/gateways/<id>.container.env``: IBC's settings inside the container (no secret values;
    the login name comes from ``<id>.userid.env`` and the passwords from files, both written by startup.sh)."""
    lines = {
        "TRADING_MODE": config["trading_mode"],
        "TWS_PASSWORD_FILE": "/run/secrets/password",
        "VNC_SERVER_PASSWORD_FILE": "/run/secrets/vnc-password",
        "READ_ONLY_API": "no",
        "TWS_SETTINGS_PATH": "/home/ibgateway/tws_settings",
        "SAVE_TWS_SETTINGS": "yes",
        # IBC restarts the gateway daily outside market hours; with the settings volume kept, no 2FA is needed.
        "AUTO_RESTART_TIME": config["restart_time"],
        "TIME_ZONE": "America/New_York",
        "TZ": "America/New_York",
        "TWOFA_TIMEOUT_ACTION": "restart",
        "RELOGIN_AFTER_TWOFA_TIMEOUT": "yes",
        "EXISTING_SESSION_DETECTED_ACTION": "primary",
        "BYPASS_WARNING": "yes",
    }
    return "".join(f"{k}={v}\n" for k, v in lines.items())


def executor_env(config: dict[str, Any]) -> str:
    """``/etc/spreadpilot/executor.env``: the executor's settings (its gateways are Firestore documents)."""
    lines: dict[str, str] = dict(config.get("executor_env", {}))
    return "".join(f"{k}={v}\n" for k, v in sorted(lines.items()))


def render(config: dict[str, Any], root: Path) -> list[Path]:
    """Write every settings file under ``root``; return their paths."""
    written: list[Path] = []
    etc = root / "etc" / "spreadpilot"
    for gateway in sorted(config["gateways"]):
        for name, text in (
            (f"gateways/{gateway}.env", gateway_unit_env(config, gateway)),
            (f"gateways/{gateway}.container.env", gateway_container_env(config, gateway)),
        ):
            path = etc / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    path = etc / "executor.env"
    path.write_text(executor_env(config), encoding="utf-8")
    path.chmod(0o640)
    written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """``render.py CONFIG.json [--root /]``; prints the gateway ids, one per line, for startup.sh."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="the spreadpilot-config JSON")
    parser.add_argument("--root", type=Path, default=Path("/"), help="filesystem root to write under")
    args = parser.parse_args(argv)
    config = json.loads(args.config.read_text(encoding="utf-8"))
    render(config, args.root)
    print("\n".join(sorted(config["gateways"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
