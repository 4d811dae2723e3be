"""Where statement files are kept: a local folder (local stack, demo) or a Cloud Storage bucket (production)."""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path
from typing import Any, Protocol

from google.api_core.exceptions import PreconditionFailed


class StatementStorage(Protocol):
    """Keeps one file and says where it is."""

    def save(self, name: str, content: bytes, content_type: str) -> str:
        """Store ``content`` under ``name`` (overwriting) and return its path or URI."""
        ...


class FolderStorage:
    """Files under a local folder; returns the file's path."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, name: str, content: bytes, content_type: str) -> str:
        """Write atomically (a reader never sees half a PDF)."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(content)
        partial.replace(path)
        return str(path)


class BucketStorage:
    """Objects in a Cloud Storage bucket; returns ``gs://bucket/name``."""

    def __init__(self, bucket: str, client: Any = None) -> None:
        if client is None:
            # Imported here: only production (a bucket configured) pays for the import.
            from google.cloud import storage  # type: ignore[attr-defined]  # the package ships no stubs for it

            client = storage.Client()
        self.bucket = client.bucket(bucket)
        self.name = bucket

    def save(self, name: str, content: bytes, content_type: str) -> str:
        """Upload once under a name carrying the content's hash (the client retries transient errors itself).

        The statements bucket has a retention policy, so an object can never be overwritten: a regenerated
        statement with the same bytes is already there, and a corrected one gets a new name.
        """
        stem, dot, suffix = name.rpartition(".")
        digest = hashlib.sha256(content).hexdigest()[:12]
        stored = f"{stem}-{digest}{dot}{suffix}" if dot else f"{name}-{digest}"
        with contextlib.suppress(PreconditionFailed):  # the same content is stored already
            self.bucket.blob(stored).upload_from_string(content, content_type=content_type, if_generation_match=0)
        return f"gs://{self.name}/{stored}"
