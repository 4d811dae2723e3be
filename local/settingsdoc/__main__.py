"""``make docs``: regenerate the README's settings table from the settings classes."""

import sys
from pathlib import Path

from settingsdoc import write

if __name__ == "__main__":
    changed = write(Path(sys.argv[1] if len(sys.argv) > 1 else "README.md"))
    sys.stdout.write("README settings table updated\n" if changed else "README settings table already up to date\n")
