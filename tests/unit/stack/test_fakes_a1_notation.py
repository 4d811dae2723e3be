"""A1 notation as the Sheets fake understands it."""

from __future__ import annotations

import pytest

from fakes.a1 import A1Range, column_index, column_letters, parse, quote_tab


@pytest.mark.parametrize(("letters", "index"), [("A", 0), ("Z", 25), ("AA", 26), ("AZ", 51), ("BA", 52)])
def test_column_letters_round_trip(letters: str, index: int) -> None:
    assert column_index(letters) == index
    assert column_letters(index) == letters


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sheet1!A1:C3", A1Range("Sheet1", 0, 0, 2, 2)),
        ("'Quantità per Leg'!B2", A1Range("Quantità per Leg", 1, 1, 1, 1)),
        ("'It''s'!A:C", A1Range("It's", 0, 0, None, 2)),
        ("Sheet1!2:5", A1Range("Sheet1", 1, 0, 4, None)),
        ("A1:B", A1Range(None, 0, 0, None, 1)),
        ("Sheet1", A1Range("Sheet1", 0, 0, None, None)),
        ("'Sheet1'", A1Range("Sheet1", 0, 0, None, None)),
    ],
)
def test_parse_ranges(text: str, expected: A1Range) -> None:
    assert parse(text, {"Sheet1"}) == expected


def test_garbage_is_a_parse_error() -> None:
    with pytest.raises(ValueError, match="Unable to parse range"):
        parse("Sheet1!1A", {"Sheet1"})


def test_tab_names_are_quoted_only_when_needed() -> None:
    assert quote_tab("Sheet1") == "Sheet1"
    assert quote_tab("My tab") == "'My tab'"
    assert quote_tab("It's") == "'It''s'"
