"""Vendor the Firebase JS SDK the admin web app serves: ``python -m webvendor NODE_MODULES_FIREBASE OUT_DIR``.

Copies the SDK's browser ES-module builds (app, auth, firestore) from the installed npm package (``make web-vendor``
installs the pinned version from ``web/vendor/package-lock.json``), points their imports of each other at the local
copies instead of Google's CDN, drops the source-map comments, and writes ``MANIFEST.json`` (package version and
each file's SHA-256) so a test can tell the vendored files from the pinned package and spot a hand edit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from pathlib import Path

FILES = ("firebase-app.js", "firebase-auth.js", "firebase-firestore.js")
CDN_IMPORT = re.compile(r"https://www\.gstatic\.com/firebasejs/[0-9.]+/(firebase-[a-z-]+\.js)")
SOURCE_MAP = re.compile(r"\n?//# sourceMappingURL=\S+\s*$")


def localise(text: str) -> str:
    """The module with its CDN imports made relative and its source-map comment removed."""
    return SOURCE_MAP.sub("\n", CDN_IMPORT.sub(r"./\1", text))


def vendor(package: Path, out: Path) -> dict[str, object]:
    """Write the localised files and their manifest into ``out``; returns the manifest."""
    version = json.loads((package / "package.json").read_text(encoding="utf-8"))["version"]
    out.mkdir(parents=True, exist_ok=True)
    digests = {}
    for name in FILES:
        text = localise((package / name).read_text(encoding="utf-8"))
        (out / name).write_text(text, encoding="utf-8")
        digests[name] = hashlib.sha256(text.encode()).hexdigest()
    manifest: dict[str, object] = {"package": "firebase", "version": version, "sha256": digests}
    (out / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(prog="webvendor", description=__doc__)
    parser.add_argument("package", type=Path, help="node_modules/firebase of the pinned install")
    parser.add_argument("out", type=Path, help="where the web app serves the SDK from (web/vendor/firebase)")
    args = parser.parse_args()
    manifest = vendor(args.package, args.out)
    print(f"webvendor: firebase {manifest['version']} → {args.out}")


if __name__ == "__main__":
    main()
