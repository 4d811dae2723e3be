"""``python -m iamcheck [ROOT]``: derive every Google API use from the code and compare with terraform's grants."""

from __future__ import annotations

import sys
from pathlib import Path

from iamcheck.check import check
from iamcheck.uses import Repo


def main(argv: list[str] | None = None) -> int:
    """Print the report; exit 1 unless nothing is missing, unused or underivable."""
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path(__file__).resolve().parents[2]
    report = check(Repo(root))
    print(report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
