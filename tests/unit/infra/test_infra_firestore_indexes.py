"""Every Firestore query in the code that needs a composite index has one in terraform/firestore.indexes.json,
and every declared index serves a query; the security rules deny clients by default."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from infra_support import REPO, TERRAFORM

SOURCES = [REPO / "functions", REPO / "gateway-vm" / "executor", REPO / "shared" / "spreadpilot" / "store.py"]
EQUALITY = {"==", "in", "array_contains", "array-contains", "array_contains_any", "array-contains-any"}


@dataclass
class Query:
    """One chain of .where()/.order_by() calls: field names (a literal, or the variable holding it)."""

    location: str = ""
    collection: str = ""
    filters: list[tuple[str, str]] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)

    def needs_composite(self) -> bool:
        """Equality filters alone merge single-field indexes; a range or order on another field does not."""
        fields = {f for f, _ in self.filters} | set(self.orders)
        ranged = any(op not in EQUALITY for _, op in self.filters) or bool(self.orders)
        return len(fields) >= 2 and ranged


def _text(node: ast.expr) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return f"<{ast.unparse(node)}>"


def _collection(node: ast.expr) -> str:
    """A collection argument: a literal, a store constant (PNL_SNAPSHOTS), or ``store.<repo>.collection``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and node.id.isupper():
        return node.id.lower()  # spreadpilot.store constants are the collection names upper-cased
    if isinstance(node, ast.Attribute) and node.attr == "collection" and isinstance(node.value, ast.Attribute):
        return node.value.attr  # Store's repositories are named after their collections
    return f"<{ast.unparse(node)}>"


def _filter_args(call: ast.Call) -> tuple[str, str] | None:
    args = list(call.args)
    for kw in call.keywords:
        if kw.arg == "filter" and isinstance(kw.value, ast.Call):
            args = list(kw.value.args)
    if len(args) >= 2:
        return _text(args[0]), _text(args[1])
    return None


def queries_in(path: Path) -> list[Query]:
    """Maximal where/order_by chains in one file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inner: set[int] = set()
    found: list[Query] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in ("where", "order_by") or id(node) in inner:
            continue
        query = Query(location=f"{path.relative_to(REPO)}:{node.lineno}")
        current: ast.expr = node
        while isinstance(current, ast.Call) and isinstance(current.func, ast.Attribute):
            if current.func.attr == "where":
                args = _filter_args(current)
                if args:
                    query.filters.append(args)
            elif current.func.attr == "order_by" and current.args:
                query.orders.append(_text(current.args[0]))
            elif current.func.attr == "collection" and current.args:
                query.collection = _collection(current.args[0])
            inner.add(id(current))
            current = current.func.value
        if query.filters or query.orders:
            found.append(query)
    return found


WEB_QUERY = re.compile(r"query\(collection\(db, '(\w+)'\)(.*?)\)(?:,\s*\(|\s*$|\))", re.DOTALL)
WEB_WHERE = re.compile(r"where\('(\w+)', '([^']+)'")
WEB_ORDER = re.compile(r"orderBy\('(\w+)'")


def web_queries_in(path: Path) -> list[Query]:
    """The web app's Firestore queries, written ``query(collection(db, 'name'), where(...), orderBy(...))``; a filter
    built at run time (the event console's one server-side filter) is listed as the one it can be."""
    text = path.read_text(encoding="utf-8")
    found = []
    for match in WEB_QUERY.finditer(text):
        body = match.group(2)
        query = Query(location=f"{path.relative_to(REPO)}:{text[:match.start()].count(chr(10)) + 1}",
                      collection=match.group(1), filters=WEB_WHERE.findall(body), orders=WEB_ORDER.findall(body))
        if "where(server" in body:  # events: one equality filter from the chosen field, then orderBy at
            fields = re.search(r"const SELECTIVE = \[([^\]]*)\]", text)
            for name in re.findall(r"'(\w+)'", fields.group(1) if fields else ""):
                if name != "kind":
                    found.append(Query(query.location, query.collection, [(name, "==")], query.orders))
        found.append(query)
    return found


def all_queries() -> list[Query]:
    """Every query chain of the production code and the web app."""
    files = [p for root in SOURCES for p in ([root] if root.is_file() else root.rglob("*.py"))]
    python = [q for path in files if "__pycache__" not in path.parts for q in queries_in(path)]
    web = [q for path in (REPO / "web").rglob("*.js") if "vendor" not in path.parts for q in web_queries_in(path)]
    return python + web


def declared_indexes() -> list[dict[str, object]]:
    """terraform/firestore.indexes.json's composite indexes."""
    return list(json.loads((TERRAFORM / "firestore.indexes.json").read_text(encoding="utf-8"))["indexes"])


def index_serves(index: dict[str, object], query: Query) -> bool:
    """The index's fields are the query's equality fields, then its range/order fields."""
    fields = [str(f["fieldPath"]) for f in index["fields"]]  # type: ignore[attr-defined]
    same_fields = set(fields) == {f for f, _ in query.filters} | set(query.orders)
    return same_fields and index["collectionGroup"] == query.collection


def test_the_code_runs_firestore_queries_the_scan_can_see() -> None:
    assert any(q.filters for q in all_queries())
    web = [q for q in all_queries() if q.location.startswith("web/")]
    assert {q.collection for q in web} >= {"events", "orders", "pnl_snapshots", "fills", "alerts"}


def test_every_query_that_needs_a_composite_index_has_one_declared() -> None:
    needing = [q for q in all_queries() if q.needs_composite()]
    unresolved = [q.location for q in needing
                  if q.collection.startswith("<") or any(f.startswith("<") for f, _ in q.filters)]
    assert unresolved == [], "name the fields of multi-field queries literally so the index can be checked"
    missing = [q.location for q in needing if not any(index_serves(i, q) for i in declared_indexes())]
    assert missing == []


def test_every_declared_index_serves_a_query_in_the_code() -> None:
    queries = all_queries()
    unused = [i for i in declared_indexes() if not any(index_serves(i, q) for q in queries)]
    assert unused == []


def test_a_query_mixing_equality_and_order_on_two_fields_needs_a_composite_index() -> None:
    assert Query(filters=[("follower_id", "==")], orders=["at"]).needs_composite()
    assert Query(filters=[("follower_id", "=="), ("date", ">=")]).needs_composite()
    assert not Query(filters=[("date", ">="), ("date", "<")]).needs_composite()
    assert not Query(filters=[("enabled", "=="), ("mode", "==")]).needs_composite()


def test_firestore_rules_let_operators_read_named_collections_and_nobody_write() -> None:
    # What each allowed read exposes is checked in the emulator's rules engine (tests/integration/infra).
    rules = (TERRAFORM / "firestore.rules").read_text(encoding="utf-8")
    code = "\n".join(line for line in rules.splitlines() if not line.strip().startswith("//"))
    allows = [line.strip() for line in code.splitlines() if "allow " in line]
    assert "allow read, write: if false;" in allows
    others = [a for a in allows if a != "allow read, write: if false;"]
    assert others
    assert all(a.endswith("{ allow read: if operator(); }") for a in others)
    assert "match /followers/" not in code
