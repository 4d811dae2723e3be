#!/usr/bin/env python3
"""Turn the VM's settings (instance metadata ``spreadpilot-config``) into the environment files the units read.

One function per file so a test can check each; ``main`` writes them all under a root folder (``/`` on the VM).
Gateways are not here: they are Firestore documents, and the supervisor writes each one's files when it starts it
(``supervisor.files``). Secrets are not here either: the supervisor reads each login from Secret Manager.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def executor_env(config: dict[str, Any]) -> str:
    """``/etc/spreadpilot/executor.env``: the executor's settings (its gateways are Firestore documents)."""
    lines: dict[str, str] = dict(config.get("executor_env", {}))
    return "".join(f"{k}={v}\n" for k, v in sorted(lines.items()))


def supervisor_env(config: dict[str, Any]) -> str:
    """``/etc/spreadpilot/supervisor.env``: which VM this is, its capacity and how gateways are run."""
    lines = {
        "GOOGLE_CLOUD_PROJECT": config["project"],
        "SPREADPILOT_VM_NAME": config["vm_name"],
        "SPREADPILOT_GATEWAYS_PER_VM": str(config.get("gateways_per_vm", 0)),
        "SPREADPILOT_IB_GATEWAY_IMAGE": config["image"],
        "SPREADPILOT_GATEWAY_RESTART_TIME": config["restart_time"],
    }
    return "".join(f"{k}={v}\n" for k, v in lines.items())


def render(config: dict[str, Any], root: Path) -> list[Path]:
    """Write every settings file under ``root``; return their paths."""
    etc = root / "etc" / "spreadpilot"
    etc.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, text, mode in (("executor.env", executor_env(config), 0o640),
                             ("supervisor.env", supervisor_env(config), 0o600)):
        path = etc / name
        path.write_text(text, encoding="utf-8")
        path.chmod(mode)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """``render.py CONFIG.json [--root /]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="the spreadpilot-config JSON")
    parser.add_argument("--root", type=Path, default=Path("/"), help="filesystem root to write under")
    args = parser.parse_args(argv)
    render(json.loads(args.config.read_text(encoding="utf-8")), args.root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
