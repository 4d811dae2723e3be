"""The Firestore stand-in keeps the semantics the executor's correctness depends on, and its faults are real."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from google.api_core.exceptions import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ServiceUnavailable,
)
from google.cloud import firestore

from faultsim.firestore import Injection, MemoryFirestore
from spreadpilot.models import Follower, IntentState
from spreadpilot.store import Store

NOW = datetime(2026, 3, 17, 13, 30, tzinfo=UTC)


def db_with(injection: Injection | None = None, on: str = "create") -> MemoryFirestore:
    return MemoryFirestore(lambda: NOW, faults=lambda op, collection, paths: injection if op == on else None)


def follower(n: int, **changes: object) -> Follower:
    return Follower(id=f"f{n:02d}", name="F", email="f@example.com", iban="DE89370400440532013000",
                    commission_pct=Decimal(20), gateway_id="gw-1", ibkr_account=f"DU{n}", **changes)


def test_create_is_create_if_absent() -> None:
    db = db_with()
    ref = db.collection("orders").document("i1")
    ref.create({"state": "planned"})
    with pytest.raises(AlreadyExists):
        ref.create({"state": "working"})
    assert ref.get().to_dict() == {"state": "planned"}


def test_a_slash_in_a_document_id_is_refused_like_the_real_client() -> None:
    db = db_with()
    with pytest.raises(ValueError, match="even number"):
        db.collection("orders").document("ops/hedge")
    nested = db.collection("orders").document("ops/hedge/1")  # a document in a subcollection, as the real client
    assert nested.parent_path == "orders/ops/hedge"
    with pytest.raises(ValueError, match="odd number"):
        db.collection("orders/x")


@pytest.mark.parametrize("doc_id", ["..", ".", "__hedge__", "x" * 1600])
def test_ids_the_server_refuses_fail_on_the_rpc(doc_id: str) -> None:
    db = db_with()
    ref = db.collection("orders").document(doc_id)  # the client builds the reference…
    with pytest.raises(InvalidArgument):  # …the server refuses it
        ref.get()
    with pytest.raises(InvalidArgument):
        list(db.get_all([db.collection("orders").document("ok"), ref]))


def test_a_write_that_fails_after_commit_is_really_committed_and_a_retry_sees_it() -> None:
    db = db_with(Injection(fail_after=ServiceUnavailable("network")))
    ref = db.collection("followers").document("f01")
    with pytest.raises(ServiceUnavailable):
        ref.create(follower(1).to_doc())
    db.faults = None
    assert Follower.model_validate(ref.get().to_dict()) == follower(1)
    with pytest.raises(AlreadyExists):  # the client's retry: "done already"
        ref.create(follower(1).to_doc())


def test_a_write_that_fails_before_takes_no_effect() -> None:
    db = db_with(Injection(fail_before=ServiceUnavailable("down")), on="set")
    ref = db.collection("x").document("a")
    with pytest.raises(ServiceUnavailable):
        ref.set({"a": 1})
    assert not ref.get().exists


def test_update_honours_the_last_update_time_precondition() -> None:
    clock = [NOW]
    db = MemoryFirestore(lambda: clock[0])
    ref = db.collection("leases").document("gw-1")
    ref.create({"holder": "a", "epoch": 1})
    seen = ref.get()
    clock[0] = NOW + timedelta(seconds=1)
    ref.update({"epoch": 2}, option=db.write_option(last_update_time=seen.update_time))
    with pytest.raises(FailedPrecondition):  # somebody wrote since ``seen``
        ref.update({"epoch": 3}, option=db.write_option(last_update_time=seen.update_time))
    with pytest.raises(NotFound):
        db.collection("leases").document("gw-2").update({"epoch": 1})
    assert ref.get().to_dict() == {"holder": "a", "epoch": 2}


def test_values_are_json_like_copies_with_sentinels_applied() -> None:
    db = db_with()
    ref = db.collection("c").document("d")
    with pytest.raises(TypeError, match="Firestore Value"):
        ref.set({"price": Decimal("1.05")})
    ref.set({"at": firestore.SERVER_TIMESTAMP, "n": firestore.Increment(2), "m": {"a": 1}, "state": IntentState.FILLED})
    ref.set({"n": firestore.Increment(3), "m": {"b": 2}}, merge=True)
    doc = ref.get().to_dict()
    assert doc == {"at": NOW, "n": 5, "m": {"a": 1, "b": 2}, "state": "filled"}
    assert type(doc["state"]) is str
    doc["m"]["a"] = 99  # a copy: the store keeps its own
    assert ref.get().to_dict()["m"] == {"a": 1, "b": 2}


def test_queries_filter_like_firestore_and_the_shared_store_reads_through_them() -> None:
    db = db_with()
    store = Store(db)  # type: ignore[arg-type]
    for n, enabled in ((1, True), (2, False), (3, True)):
        store.followers.put(follower(n, enabled=enabled))
    assert [f.id for f in store.followers.where("enabled", "==", True)] == ["f01", "f03"]
    people = db.collection("followers")
    assert [s.id for s in people.where(filter=firestore.FieldFilter("id", "in", ["f02", "f03"])).stream()] == \
        ["f02", "f03"]
    assert [s.id for s in people.where(filter=firestore.FieldFilter("max_contracts", ">=", 10))
            .where(filter=firestore.FieldFilter("id", "<", "f03")).stream()] == ["f01", "f02"]
    db.collection("t").document("a").set({"tags": ["x", "y"]})
    assert [s.id for s in db.collection("t").where(filter=firestore.FieldFilter("tags", "array_contains", "y"))
            .stream()] == ["a"]


def test_a_planted_malformed_document_is_stored_as_is() -> None:
    db = db_with()
    db.plant("followers", "f09", {"id": "f09", "multiplier": "abc"})
    assert db.collection("followers").document("f09").get().to_dict() == {"id": "f09", "multiplier": "abc"}


def test_a_batch_commits_all_or_nothing() -> None:
    db = db_with()
    db.collection("c").document("taken").create({"v": 1})
    batch = db.batch()
    batch.set(db.collection("c").document("new"), {"v": 2})
    batch.create(db.collection("c").document("taken"), {"v": 3})
    with pytest.raises(AlreadyExists):
        batch.commit()
    assert not db.collection("c").document("new").get().exists
