"""``python -m executor``: settings from the environment, JSON logs, then the service until SIGTERM."""

from __future__ import annotations

import asyncio
import sys

from executor.service import serve
from executor.settings import ExecutorSettings
from spreadpilot.errors import ConfigError
from spreadpilot.logs import configure_logging
from spreadpilot.settings import load_settings


def main() -> int:
    """Entry point."""
    try:
        settings = load_settings(ExecutorSettings)
    except ConfigError as exc:
        sys.stderr.write(f"executor: {exc}\n")
        return 2
    configure_logging("executor", settings.log_level)
    return asyncio.run(serve(settings))


if __name__ == "__main__":
    sys.exit(main())
