"""Where statement files are kept: a local folder for the local stack and demo, a bucket in production."""

from __future__ import annotations

from pathlib import Path

from google.api_core.exceptions import PreconditionFailed

from reports.storage import BucketStorage, FolderStorage


class _Blob:
    def __init__(self, bucket: _Bucket, name: str) -> None:
        self.bucket, self.name = bucket, name

    def upload_from_string(self, content: bytes, content_type: str, if_generation_match: int | None = None) -> None:
        if if_generation_match == 0 and self.name in self.bucket.objects:
            raise PreconditionFailed("object exists")  # what Cloud Storage answers to create-if-absent
        self.bucket.objects[self.name] = (content, content_type)


class _Bucket:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}

    def blob(self, name: str) -> _Blob:
        return _Blob(self, name)


class _Client:
    """Stands in for ``google.cloud.storage.Client`` (same method names)."""

    def __init__(self) -> None:
        self.buckets: dict[str, _Bucket] = {}

    def bucket(self, name: str) -> _Bucket:
        return self.buckets.setdefault(name, _Bucket())


def test_folder_storage_writes_the_file_under_the_month_and_returns_its_path(tmp_path: Path) -> None:
    storage = FolderStorage(tmp_path / "statements")

    path = storage.save("2026-03/statement-f01-2026-03.pdf", b"%PDF-1.4 ...", "application/pdf")

    assert Path(path) == tmp_path / "statements" / "2026-03" / "statement-f01-2026-03.pdf"
    assert Path(path).read_bytes() == b"%PDF-1.4 ..."
    assert [p.name for p in (tmp_path / "statements" / "2026-03").iterdir()] == ["statement-f01-2026-03.pdf"]


def test_folder_storage_overwrites_a_regenerated_statement(tmp_path: Path) -> None:
    storage = FolderStorage(tmp_path)
    storage.save("a.pdf", b"old", "application/pdf")

    assert Path(storage.save("a.pdf", b"new", "application/pdf")).read_bytes() == b"new"


def test_bucket_storage_uploads_once_under_a_content_named_object_and_returns_a_gs_uri() -> None:
    client = _Client()
    storage = BucketStorage("spreadpilot-statements", client)

    uri = storage.save("2026-03/statement-f01-2026-03.xlsx", b"PK..", "application/vnd.ms-excel")

    name = uri.removeprefix("gs://spreadpilot-statements/")
    assert name.startswith("2026-03/statement-f01-2026-03-")
    assert name.endswith(".xlsx")
    assert client.buckets["spreadpilot-statements"].objects == {name: (b"PK..", "application/vnd.ms-excel")}


def test_bucket_storage_never_overwrites_a_retained_object() -> None:
    client = _Client()
    storage = BucketStorage("spreadpilot-statements", client)
    first = storage.save("2026-03/s.pdf", b"v1", "application/pdf")

    assert storage.save("2026-03/s.pdf", b"v1", "application/pdf") == first  # regenerated: already stored
    corrected = storage.save("2026-03/s.pdf", b"v2", "application/pdf")

    assert corrected != first
    assert {k: v[0] for k, v in client.buckets["spreadpilot-statements"].objects.items()} == {
        first.removeprefix("gs://spreadpilot-statements/"): b"v1",
        corrected.removeprefix("gs://spreadpilot-statements/"): b"v2",
    }
