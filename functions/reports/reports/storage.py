"""Where statement files are kept: a local folder (local stack, demo) or a Cloud Storage bucket (production)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


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
        """Upload (the client retries transient errors itself)."""
        self.bucket.blob(name).upload_from_string(content, content_type=content_type)
        return f"gs://{self.name}/{name}"
