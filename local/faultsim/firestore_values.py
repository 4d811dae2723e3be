"""Firestore's value rules for the in-memory stand-in: what may be stored, how writes combine, how queries compare.

Values are JSON-like (None, bool, int, float, str, bytes, timezone-aware datetime, lists, maps with string keys); a
``Decimal`` or any other type raises ``TypeError`` like the real client ("Cannot convert to a Firestore Value").
``str``/``int`` subclasses (enums) are stored as plain values. The sentinels ``SERVER_TIMESTAMP`` and
``DELETE_FIELD`` and the transforms ``Increment``, ``ArrayUnion`` and ``ArrayRemove`` are applied at write time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.cloud.firestore_v1 import transforms

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # queries hold no sentinels; a fixed "now" keeps _store pure


def copy_value(value: Any) -> Any:
    """A deep copy of a stored value (maps and lists copied; scalars and datetimes are immutable)."""
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _PLAIN else copy_value(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _PLAIN else copy_value(v) for v in value]
    return value


_PLAIN = frozenset({str, int, float, bool, type(None), bytes})


def _store(value: Any, now: datetime, old: Any = None, *, merge: bool = False) -> Any:
    """``value`` as stored, sentinels and transforms applied against ``old``."""
    if type(value) in _PLAIN:
        return value
    if value is transforms.SERVER_TIMESTAMP:
        return now
    if isinstance(value, transforms.Increment):
        start = old if isinstance(old, int | float) and not isinstance(old, bool) else 0
        return start + value.value
    if isinstance(value, transforms.ArrayUnion):
        current = list(old) if isinstance(old, list) else []
        return current + [_store(v, now) for v in value.values if v not in current]
    if isinstance(value, transforms.ArrayRemove):
        current = list(old) if isinstance(old, list) else []
        return [v for v in current if v not in value.values]
    if isinstance(value, dict):
        return _merge_map(old if merge and isinstance(old, dict) else {}, value, now, merge=merge)
    if isinstance(value, list | tuple):
        return [_store(v, now) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float | bytes):
        return value
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    raise TypeError("Cannot convert to a Firestore Value", value, "Invalid type", type(value))


def _merge_map(base: dict[str, Any], data: dict[str, Any], now: datetime, *, merge: bool) -> dict[str, Any]:
    result = {k: copy_value(v) for k, v in base.items()}
    for key, value in data.items():
        if not isinstance(key, str):
            raise TypeError(f"map keys must be strings, got {key!r}")
        if value is transforms.DELETE_FIELD:
            if not merge:
                raise ValueError("DELETE_FIELD is only allowed with merge=True or in update()")
            result.pop(key, None)
            continue
        result[key] = _store(value, now, result.get(key), merge=merge)
    return result


def apply_set(base: dict[str, Any], data: dict[str, Any], *, merge: bool, now: datetime) -> dict[str, Any]:
    """The document after ``set(data, merge=merge)`` over ``base`` (``base`` is ignored without merge)."""
    return _merge_map(base if merge else {}, data, now, merge=merge)


def apply_update(base: dict[str, Any], updates: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """The document after ``update(updates)``: keys are dotted field paths, each value replaces its field."""
    result: dict[str, Any] = copy_value(base)
    for path, value in updates.items():
        parts = path.split(".")
        node = result
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        if value is transforms.DELETE_FIELD:
            node.pop(parts[-1], None)
        else:
            node[parts[-1]] = _store(value, now, node.get(parts[-1]))
    return result


def field_value(data: dict[str, Any], path: str) -> tuple[bool, Any]:
    """(found, value) of a dotted field path."""
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _kind(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        return 1
    if isinstance(value, int | float):
        return 2
    if isinstance(value, datetime):
        return 3
    if isinstance(value, str):
        return 4
    if isinstance(value, bytes):
        return 5
    if isinstance(value, list):
        return 8
    return 9


def _equal(a: Any, b: Any) -> bool:
    if _kind(a) != _kind(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def matches(data: dict[str, Any], field: str, op: str, value: Any) -> bool:
    """Whether a document matches one field filter (a missing field never matches, as in Firestore)."""
    found, current = field_value(data, field)
    if not found:
        return False
    value = [_store(v, _EPOCH) for v in value] if isinstance(value, list) else _store(value, _EPOCH)
    if op == "==":
        return _equal(current, value)
    if op == "!=":
        return current is not None and not _equal(current, value)
    if op == "in":
        return any(_equal(current, v) for v in value)
    if op == "not-in":
        return current is not None and not any(_equal(current, v) for v in value)
    if op == "array_contains":
        return isinstance(current, list) and any(_equal(x, value) for x in current)
    if op == "array_contains_any":
        return isinstance(current, list) and any(_equal(x, v) for x in current for v in value)
    if op in ("<", "<=", ">", ">="):
        if _kind(current) != _kind(value) or _kind(current) in (0, 8, 9):
            return False
        return bool({"<": current < value, "<=": current <= value, ">": current > value, ">=": current >= value}[op])
    raise ValueError(f"operator {op!r} is not supported")
