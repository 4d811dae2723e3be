"""``python -m executor``: settings from the environment, JSON logs, then the service until SIGTERM."""

from __future__ import annotations

import asyncio
import ctypes
import sys

from executor.service import serve
from executor.settings import ExecutorSettings
from spreadpilot.errors import ConfigError
from spreadpilot.logs import configure_logging
from spreadpilot.settings import load_settings

M_ARENA_MAX = -8  # glibc's mallopt parameter for the number of malloc arenas
MALLOC_ARENAS = 2


def fewer_malloc_arenas() -> bool:
    """Two malloc arenas for the whole process, set before any thread starts. glibc gives threads arenas of their
    own, up to eight per core: the executor's ~80 I/O threads mostly wait on the network, and their arenas held
    memory apart (5 MB of 153 at 1000 followers). False where the C library is not glibc (nothing to tune)."""
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, MALLOC_ARENAS))
    except (OSError, AttributeError):
        return False


def main() -> int:
    """Entry point."""
    fewer_malloc_arenas()
    try:
        settings = load_settings(ExecutorSettings)
    except ConfigError as exc:
        sys.stderr.write(f"executor: {exc}\n")
        return 2
    configure_logging("executor", settings.log_level)
    return asyncio.run(serve(settings))


if __name__ == "__main__":
    sys.exit(main())
