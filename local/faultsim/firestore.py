"""An in-memory stand-in for the part of ``google.cloud.firestore.Client`` that SpreadPilot's stores use.

Faithful where the executor's correctness depends on it:
- ``create`` is create-if-absent (``AlreadyExists``); ``update`` needs the document (``NotFound``) and honours a
  ``write_option(last_update_time=...)`` / ``write_option(exists=...)`` precondition (``FailedPrecondition``);
- paths are checked like the real client (a document path needs an even number of segments, so
  ``collection("x").document("a/b")`` raises ``ValueError`` while ``"a/b/c"`` names a document in a subcollection),
  and ids like the server (``.``, ``..``, ``__x__``, empty segments, > 1500 bytes: ``InvalidArgument`` on the RPC);
- values are JSON-like and deep-copied in and out; ``Decimal`` and other foreign types raise ``TypeError`` like the
  client; ``SERVER_TIMESTAMP`` becomes the virtual now, ``Increment`` adds, ``DELETE_FIELD`` deletes;
- every RPC asks ``faults`` first: fail before it takes effect, take effect and then fail (the client sees an error
  for a write that happened), or answer late.
Queries support ``==``, ``!=``, ``in``, ``not-in``, ``<``, ``<=``, ``>``, ``>=``, ``array_contains`` and
``array_contains_any``, chained ``where``, ``order_by`` on one field, ``limit`` and ``stream``/``get``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud.firestore_v1 import transforms

from faultsim.firestore_refs import CollectionRef, DocumentRef, Snapshot, WriteBatch, api_error
from faultsim.firestore_values import apply_set, apply_update, copy_value
from faultsim.vloop import ProcessDied

MAX_ID_BYTES = 1500
_RESERVED = re.compile(r"^__.*__$")


@dataclass(frozen=True)
class Injection:
    """What the fault plan does to one RPC."""

    fail_before: Exception | None = None
    fail_after: Exception | None = None
    extra_latency: float = 0.0
    kill_before: Callable[[], None] | None = None  # the calling process dies before the call takes effect
    on_apply: Callable[[], None] | None = None  # e.g. kill the calling process right after the call took effect


RpcFaults = Callable[[str, str, tuple[str, ...]], Injection | None]  # (op, collection, document paths) → injection


@dataclass
class _Doc:
    data: dict[str, Any]
    create_time: datetime
    update_time: datetime


class _Option:
    def __init__(self, last_update_time: datetime | None = None, exists: bool | None = None) -> None:
        self.last_update_time = last_update_time
        self.exists = exists


def _option_fields(option: object) -> tuple[datetime | None, bool | None]:
    if option is None:
        return None, None
    if isinstance(option, _Option):
        return option.last_update_time, option.exists
    # a real ``google.cloud.firestore_v1._helpers`` option (built with the real client's write_option)
    return getattr(option, "_last_update_time", None), getattr(option, "_exists", None)


def _segments(path: str) -> list[str]:
    return path.split("/")


def _check_server_path(path: str) -> None:
    for segment in _segments(path):
        if not segment or segment in (".", "..") or _RESERVED.match(segment) or len(segment.encode()) > MAX_ID_BYTES:
            raise api_error(gexc.InvalidArgument, f"Document path {path!r} is invalid: bad id segment {segment[:40]!r}")


class MemoryFirestore:
    """The database and client in one (one instance per simulated Firestore project)."""

    def __init__(self, now: Callable[[], datetime], *, faults: RpcFaults | None = None, seed: int | str = 0,
                 on_latency: Callable[[float], None] | None = None) -> None:
        self.now = now
        self.faults = faults
        self.on_latency = on_latency
        self._docs: dict[str, dict[str, _Doc]] = {}
        self._ids = random.Random(f"{seed}:firestore-ids")
        self._last_commit = datetime(1970, 1, 1, tzinfo=UTC)
        self.writes: list[str] = []  # "op path" of every write that took effect, in order
        self.progress = 0  # writes other than lease renewals and heartbeats (the run's progress measure)

    # ── client surface ──────────────────────────────────────────────────────────────────────────────────────────
    def collection(self, *path: str) -> CollectionRef:
        """A collection reference; ``ValueError`` for a path with an even number of segments."""
        full = "/".join(path)
        if len(_segments(full)) % 2 != 1:
            raise ValueError("A collection must have an odd number of path elements")
        return CollectionRef(self, full)

    def document(self, *path: str) -> DocumentRef:
        """A document reference by full path."""
        full = "/".join(path)
        parts = _segments(full)
        if len(parts) % 2 != 0:
            raise ValueError("A document must have an even number of path elements")
        return DocumentRef(self, "/".join(parts[:-1]), parts[-1])

    def get_all(self, references: Iterable[DocumentRef], field_paths: object = None,
                transaction: object = None) -> Iterator[Snapshot]:
        """Snapshots of ``references`` in one round trip (in request order)."""
        refs = list(references)
        snaps = self._rpc("get_all", refs[0].parent_path if refs else "", [r.path for r in refs],
                          lambda: [self._snapshot(r) for r in refs])
        return iter(snaps)

    def batch(self) -> WriteBatch:
        """A batch of writes committed atomically."""
        return WriteBatch(self)

    @staticmethod
    def write_option(**kwargs: Any) -> _Option:
        """A precondition for ``update``/``set``/``delete``: ``last_update_time=`` or ``exists=``."""
        if len(kwargs) != 1 or next(iter(kwargs)) not in ("last_update_time", "exists"):
            raise TypeError("write_option takes exactly one of last_update_time= or exists=")
        return _Option(**kwargs)

    def close(self) -> None:
        """Nothing to close."""

    # ── harness access (no faults) ──────────────────────────────────────────────────────────────────────────────
    def plant(self, collection: str, doc_id: str, data: dict[str, Any]) -> None:
        """Put a raw document in place, bypassing every model (e.g. a malformed one)."""
        at = self._commit_time()
        self._docs.setdefault(collection, {})[doc_id] = _Doc(copy_value(data), at, at)

    def peek(self, collection: str) -> list[dict[str, Any]]:
        """The stored maps of ``collection`` themselves, for the harness to look at (never to change)."""
        return [doc.data for doc in self._docs.get(collection, {}).values()]

    def created(self, collection: str) -> dict[str, datetime]:
        """When each document of ``collection`` was created (its create time, as the server keeps it)."""
        return {doc_id: doc.create_time for doc_id, doc in sorted(self._docs.get(collection, {}).items())}

    def raw(self, collection: str) -> dict[str, dict[str, Any]]:
        """Every document of ``collection`` as stored (copies)."""
        return {doc_id: copy_value(doc.data) for doc_id, doc in sorted(self._docs.get(collection, {}).items())}

    # ── internals ───────────────────────────────────────────────────────────────────────────────────────────────
    def _commit_time(self) -> datetime:
        at = self.now()
        if at <= self._last_commit:
            at = self._last_commit + timedelta(microseconds=1)
        self._last_commit = at
        return at

    def _rpc(self, op: str, collection: str, paths: list[str], apply: Callable[[], Any]) -> Any:
        injection = self.faults(op, collection, tuple(paths)) if self.faults else None
        for path in paths:
            _check_server_path(path)
        if injection is not None and injection.kill_before is not None:
            injection.kill_before()
            raise ProcessDied(f"{op} {collection}")
        if injection is not None and injection.fail_before is not None:
            raise injection.fail_before
        result = apply()
        if injection is not None:
            if injection.extra_latency and self.on_latency is not None:
                self.on_latency(injection.extra_latency)
            if injection.on_apply is not None:
                injection.on_apply()
            if injection.fail_after is not None:
                raise injection.fail_after
        return result

    def _get(self, ref: DocumentRef) -> _Doc | None:
        return self._docs.get(ref.parent_path, {}).get(ref.id)

    def _snapshot(self, ref: DocumentRef) -> Snapshot:
        doc = self._get(ref)
        if doc is None:
            return Snapshot(ref, None, None, None)
        return Snapshot(ref, doc.data, doc.create_time, doc.update_time)

    def _check_option(self, ref: DocumentRef, option: object) -> None:
        last_update, exists = _option_fields(option)
        doc = self._get(ref)
        if exists is not None and (doc is not None) != exists:
            kind = gexc.NotFound if exists else gexc.AlreadyExists
            raise api_error(kind, f"precondition exists={exists}: {ref.path}")
        if last_update is not None and (doc is None or doc.update_time != last_update):
            raise api_error(gexc.FailedPrecondition, f"the stored version of {ref.path} is not the one last read")

    def _write(self, op: str, ref: DocumentRef, data: dict[str, Any] | None, *, merge: bool = False,
               option: object = None) -> datetime:
        """Apply one write (no faults here: callers go through ``_rpc``); a document's map is replaced, never
        changed in place, so snapshots taken before stay as they were."""
        self._check_option(ref, option)
        docs = self._docs.setdefault(ref.parent_path, {})
        current = docs.get(ref.id)
        before = self._last_commit
        at = self._commit_time()
        try:
            self._apply(op, docs, ref, current, data, merge, at)
        except (TypeError, ValueError):
            self._last_commit = before  # refused by the client before anything was sent
            raise
        self.writes.append(f"{op} {ref.path}")
        if not ref.parent_path.startswith(("leases", "heartbeats")):
            self.progress += 1
        return at

    @staticmethod
    def _apply(op: str, docs: dict[str, _Doc], ref: DocumentRef, current: _Doc | None, data: dict[str, Any] | None,
               merge: bool, at: datetime) -> None:
        if op == "create":
            if current is not None:
                raise api_error(gexc.AlreadyExists, f"Document already exists: {ref.path}")
            docs[ref.id] = _Doc(apply_set({}, data or {}, merge=False, now=at), at, at)
        elif op == "set":
            base = current.data if current is not None and merge else {}
            new = apply_set(base, data or {}, merge=merge, now=at)
            docs[ref.id] = _Doc(new, current.create_time if current else at, at)
        elif op == "update":
            if current is None:
                raise api_error(gexc.NotFound, f"No document to update: {ref.path}")
            docs[ref.id] = _Doc(apply_update(current.data, data or {}, now=at), current.create_time, at)
        elif op == "delete":
            docs.pop(ref.id, None)


SERVER_TIMESTAMP = transforms.SERVER_TIMESTAMP
