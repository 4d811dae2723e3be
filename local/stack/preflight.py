"""`python -m stack.preflight`: check that java and both emulator jars are installed; say how to get them if not."""

from __future__ import annotations

import sys

from stack.emulators import EmulatorsMissing, find


def main() -> int:
    """Print what was found, or what is missing and how to install it (exit 1)."""
    try:
        found = find()
    except EmulatorsMissing as missing:
        print(f"preflight: the local stack cannot start.\n{missing}", file=sys.stderr)
        return 1
    print(f"preflight: java {found.java}; firestore {found.firestore_jar.name}; pubsub {found.pubsub_jar.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
