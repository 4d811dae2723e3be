"""References, snapshots, queries and batches of the in-memory Firestore (``faultsim.firestore``).

They hold no data: every call goes to the database's RPC path, where the fault plan is asked first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from google.api_core import exceptions as gexc

from faultsim.firestore_values import copy_value, field_value, matches

if TYPE_CHECKING:
    from faultsim.firestore import MemoryFirestore


def api_error(kind: type[gexc.GoogleAPICallError], message: str) -> gexc.GoogleAPICallError:
    """A ``google.api_core`` error as the real client raises it."""
    return kind(message)



class DocumentRef:
    """``DocumentReference``: ``create``, ``set``, ``update``, ``get``, ``delete``."""

    def __init__(self, db: MemoryFirestore, parent_path: str, doc_id: str) -> None:
        self._db = db
        self.parent_path = parent_path
        self.id = doc_id

    @property
    def path(self) -> str:
        """``collection/…/id``."""
        return f"{self.parent_path}/{self.id}"

    @property
    def parent(self) -> CollectionRef:
        """The collection."""
        return CollectionRef(self._db, self.parent_path)

    def collection(self, name: str) -> CollectionRef:
        """A subcollection."""
        sub: CollectionRef = self._db.collection(self.path, name)
        return sub

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DocumentRef) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def create(self, document_data: dict[str, Any], **_: Any) -> WriteResult:
        """Create the document; ``AlreadyExists`` if it is there."""
        at = self._db._rpc("create", self.parent_path, [self.path],
                           lambda: self._db._write("create", self, document_data))
        return WriteResult(at)

    def set(self, document_data: dict[str, Any], merge: bool = False, **_: Any) -> WriteResult:
        """Replace (or with ``merge`` deep-merge into) the document."""
        at = self._db._rpc("set", self.parent_path, [self.path],
                           lambda: self._db._write("set", self, document_data, merge=merge))
        return WriteResult(at)

    def update(self, field_updates: dict[str, Any], option: object = None, **_: Any) -> WriteResult:
        """Change fields (dotted paths); the document must exist, and match ``option`` if given."""
        at = self._db._rpc("update", self.parent_path, [self.path],
                           lambda: self._db._write("update", self, field_updates, option=option))
        return WriteResult(at)

    def delete(self, option: object = None, **_: Any) -> WriteResult:
        """Delete the document (absent is fine, unless ``option`` says otherwise)."""
        at = self._db._rpc("delete", self.parent_path, [self.path],
                           lambda: self._db._write("delete", self, None, option=option))
        return WriteResult(at)

    def get(self, field_paths: object = None, transaction: object = None, **_: Any) -> Snapshot:
        """The document's snapshot (``exists`` False when absent)."""
        snap: Snapshot = self._db._rpc("get", self.parent_path, [self.path], lambda: self._db._snapshot(self))
        return snap


@dataclass
class WriteResult:
    """What a write returns."""

    update_time: datetime


class Snapshot:
    """``DocumentSnapshot`` (it holds the stored map itself: writes replace a document's map, never change it)."""

    def __init__(self, reference: DocumentRef, data: dict[str, Any] | None, create_time: datetime | None,
                 update_time: datetime | None) -> None:
        self.reference = reference
        self._data = data
        self.create_time = create_time
        self.update_time = update_time

    @property
    def id(self) -> str:
        """The document id."""
        return self.reference.id

    @property
    def exists(self) -> bool:
        """True if the document existed when read."""
        return self._data is not None

    def to_dict(self) -> dict[str, Any] | None:
        """The fields (a copy), or None when absent."""
        return copy_value(self._data) if self._data is not None else None

    def get(self, field_path: str) -> Any:
        """One (dotted) field; ``KeyError`` if absent."""
        found, value = field_value(self._data or {}, field_path)
        if not found:
            raise KeyError(field_path)
        return copy_value(value)


class Query:
    """A query over one collection."""

    def __init__(self, collection: CollectionRef, filters: tuple[tuple[str, str, Any], ...] = (),
                 order: tuple[str, str] | None = None, limit_to: int | None = None) -> None:
        self._collection = collection
        self._filters = filters
        self._order = order
        self._limit = limit_to

    def where(self, field_path: str | None = None, op_string: str | None = None, value: Any = None, *,
              filter: Any = None) -> Query:
        """Add one field filter (``where(filter=FieldFilter(f, op, v))`` or the positional form)."""
        if filter is not None:
            if not hasattr(filter, "op_string"):
                raise NotImplementedError(f"composite filters are not simulated: {filter!r}")
            field_path, op_string, value = filter.field_path, filter.op_string, filter.value
        if field_path is None or op_string is None:
            raise ValueError("where() needs a field, an operator and a value")
        if op_string in ("in", "not-in", "array_contains_any") and (not isinstance(value, list) or len(value) > 30):
            raise api_error(gexc.InvalidArgument, f"'{op_string}' needs a list of at most 30 values")
        return Query(self._collection, (*self._filters, (field_path, op_string, value)), self._order, self._limit)

    def order_by(self, field_path: str, direction: str = "ASCENDING") -> Query:
        """Order by one field."""
        return Query(self._collection, self._filters, (field_path, direction), self._limit)

    def limit(self, count: int) -> Query:
        """At most ``count`` results."""
        return Query(self._collection, self._filters, self._order, count)

    def stream(self, transaction: object = None, **_: Any) -> Iterator[Snapshot]:
        """The matching documents (by id, or by the ``order_by`` field)."""
        db = self._collection._db
        path = self._collection.path
        snaps: list[Snapshot] = db._rpc("query", path, [path] if "/" in path else [], self._run)
        return iter(snaps)

    def get(self, transaction: object = None, **_: Any) -> list[Snapshot]:
        """The matching documents as a list."""
        return list(self.stream())

    def _run(self) -> list[Snapshot]:
        db = self._collection._db
        docs = db._docs.get(self._collection.path, {})
        hits = [(doc_id, doc) for doc_id, doc in sorted(docs.items())
                if all(matches(doc.data, f, op, v) for f, op, v in self._filters)]
        if self._order is not None:
            name, direction = self._order
            hits = [h for h in hits if field_value(h[1].data, name)[0]]
            hits.sort(key=lambda h: _sort_key(field_value(h[1].data, name)[1]), reverse=direction == "DESCENDING")
        if self._limit is not None:
            hits = hits[: self._limit]
        return [Snapshot(DocumentRef(db, self._collection.path, doc_id), doc.data, doc.create_time, doc.update_time)
                for doc_id, doc in hits]


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, int | float):
        return (2, value)
    if isinstance(value, datetime):
        return (3, value)
    if isinstance(value, str):
        return (4, value)
    return (9, repr(value))


class CollectionRef(Query):
    """``CollectionReference``: a query over everything, plus ``document`` and ``add``."""

    def __init__(self, db: MemoryFirestore, path: str) -> None:
        self._db = db
        self.path = path
        super().__init__(self)

    @property
    def id(self) -> str:
        """The collection's own name."""
        return self.path.rsplit("/", 1)[-1]

    def document(self, document_id: str | None = None) -> DocumentRef:
        """The reference of ``document_id`` (a generated id when None)."""
        if document_id is None:
            document_id = "".join(self._db._ids.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                                  for _ in range(20))
        ref: DocumentRef = self._db.document(self.path, document_id)
        return ref

    def add(self, document_data: dict[str, Any], document_id: str | None = None,
            **_: Any) -> tuple[datetime, DocumentRef]:
        """Create a document under a generated id."""
        ref = self.document(document_id)
        return ref.create(document_data).update_time, ref


class WriteBatch:
    """Writes committed together: all or none."""

    def __init__(self, db: MemoryFirestore) -> None:
        self._db = db
        self._writes: list[tuple[str, DocumentRef, dict[str, Any] | None, bool, object]] = []

    def create(self, reference: DocumentRef, document_data: dict[str, Any]) -> WriteBatch:
        self._writes.append(("create", reference, copy_value(document_data), False, None))
        return self

    def set(self, reference: DocumentRef, document_data: dict[str, Any], merge: bool = False) -> WriteBatch:
        self._writes.append(("set", reference, copy_value(document_data), merge, None))
        return self

    def update(self, reference: DocumentRef, field_updates: dict[str, Any], option: object = None) -> WriteBatch:
        self._writes.append(("update", reference, copy_value(field_updates), False, option))
        return self

    def delete(self, reference: DocumentRef, option: object = None) -> WriteBatch:
        self._writes.append(("delete", reference, None, False, option))
        return self

    def commit(self, **_: Any) -> list[WriteResult]:
        """Apply every write, or none if one fails its precondition."""
        db = self._db
        writes = list(self._writes)
        self._writes.clear()

        def apply() -> list[WriteResult]:
            for op, ref, _data, _merge, option in writes:
                db._check_option(ref, option)
                if op == "create" and db._get(ref) is not None:
                    raise api_error(gexc.AlreadyExists, f"Document already exists: {ref.path}")
                if op == "update" and db._get(ref) is None:
                    raise api_error(gexc.NotFound, f"No document to update: {ref.path}")
            return [WriteResult(db._write(op, ref, data, merge=merge)) for op, ref, data, merge, _ in writes]

        collection = writes[0][1].parent_path if writes else ""
        results: list[WriteResult] = db._rpc("commit", collection, [w[1].path for w in writes], apply)
        return results
