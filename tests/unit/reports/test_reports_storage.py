"""Where statement files are kept: a local folder for the local stack and demo, a bucket in production."""

from __future__ import annotations

from pathlib import Path

from reports.storage import BucketStorage, FolderStorage


class _Blob:
    def __init__(self, bucket: _Bucket, name: str) -> None:
        self.bucket, self.name = bucket, name

    def upload_from_string(self, content: bytes, content_type: str) -> None:
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


def test_bucket_storage_uploads_with_the_content_type_and_returns_a_gs_uri() -> None:
    client = _Client()
    storage = BucketStorage("spreadpilot-statements", client)

    uri = storage.save("2026-03/statement-f01-2026-03.xlsx", b"PK..", "application/vnd.ms-excel")

    assert uri == "gs://spreadpilot-statements/2026-03/statement-f01-2026-03.xlsx"
    assert client.buckets["spreadpilot-statements"].objects == {
        "2026-03/statement-f01-2026-03.xlsx": (b"PK..", "application/vnd.ms-excel")}
