"""Where the official Firestore and Pub/Sub emulators live, and the commands that start their JVMs directly."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# Where Google's apt packages and the CLI installer put the SDK when `gcloud info` cannot tell us.
_SDK_GUESSES = ("/usr/lib/google-cloud-sdk", "/usr/share/google-cloud-sdk", "/opt/google-cloud-sdk")

HOW_TO_GET = """\
The local stack runs Google's official Firestore and Pub/Sub emulators (Java 11+ and two Google Cloud CLI components).
Install them with one of:
  gcloud components install cloud-firestore-emulator pubsub-emulator
  sudo apt-get install google-cloud-cli-firestore-emulator google-cloud-cli-pubsub-emulator openjdk-17-jre-headless
(Google's apt repository: https://cloud.google.com/sdk/docs/install#deb). Set CLOUDSDK_ROOT to the SDK folder if
`gcloud info` cannot find it."""


@dataclass(frozen=True)
class Emulators:
    """The java binary and the two emulator jars."""

    java: str
    firestore_jar: Path
    pubsub_jar: Path

    def firestore_argv(self, host: str, port: int, rules: Path | None = None) -> list[str]:
        """The Firestore emulator JVM, started directly so its pid is the server's, enforcing ``rules`` on clients
        that are not the admin (browsers); the official server clients are the admin on an emulator."""
        return [
            self.java,
            "-Duser.language=en",
            "-cp",
            str(self.firestore_jar),
            "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
            "start",
            f"--host={host}",
            f"--port={port}",
            *([f"--rules={rules}"] if rules else []),
        ]

    def pubsub_argv(self, host: str, port: int) -> list[str]:
        """The Pub/Sub emulator JVM, started directly so its pid is the server's."""
        return [self.java, "-jar", str(self.pubsub_jar), f"--host={host}", f"--port={port}"]


class EmulatorsMissing(RuntimeError):
    """Java or an emulator jar is not installed; the message lists what is missing and how to get it."""


@cache
def sdk_root() -> Path | None:
    """The Google Cloud SDK folder: $CLOUDSDK_ROOT, then `gcloud info`, then the usual install places."""
    explicit = os.environ.get("CLOUDSDK_ROOT")
    if explicit:
        return Path(explicit)
    gcloud = shutil.which("gcloud")
    if gcloud:
        try:
            out = subprocess.run(
                [gcloud, "info", "--format=value(installation.sdk_root)"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        if out and Path(out).is_dir():
            return Path(out)
    for guess in _SDK_GUESSES:
        if Path(guess, "platform").is_dir():
            return Path(guess)
    return None


def find() -> Emulators:
    """Locate java and both jars, or raise ``EmulatorsMissing`` naming every missing piece."""
    missing: list[str] = []
    java = shutil.which("java")
    if java is None:
        missing.append("java (a Java 11+ runtime) is not on PATH")
    root = sdk_root()
    firestore_jar: Path | None = None
    pubsub_jar: Path | None = None
    if root is None:
        missing.append("the Google Cloud SDK was not found (no `gcloud` on PATH, CLOUDSDK_ROOT unset)")
    else:
        candidate = root / "platform" / "cloud-firestore-emulator" / "cloud-firestore-emulator.jar"
        if candidate.is_file():
            firestore_jar = candidate
        else:
            missing.append(f"Firestore emulator jar not found: {candidate}")
        jars = sorted((root / "platform" / "pubsub-emulator" / "lib").glob("cloud-pubsub-emulator-*-all.jar"))
        if jars:
            pubsub_jar = jars[-1]
        else:
            missing.append(f"Pub/Sub emulator jar not found under {root / 'platform' / 'pubsub-emulator' / 'lib'}")
    if missing or java is None or firestore_jar is None or pubsub_jar is None:
        raise EmulatorsMissing("Missing:\n  - " + "\n  - ".join(missing) + "\n\n" + HOW_TO_GET)
    return Emulators(java=java, firestore_jar=firestore_jar, pubsub_jar=pubsub_jar)
