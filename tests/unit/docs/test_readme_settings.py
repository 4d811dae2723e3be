from pathlib import Path

from settingsdoc import render, rows

README = Path(__file__).resolve().parents[3] / "README.md"


def test_every_setting_of_every_process_has_a_meaning() -> None:
    undocumented = [(component, variable) for component, variable, _, meaning in rows() if not meaning.strip()]
    assert undocumented == []


def test_readme_settings_table_matches_the_settings_classes() -> None:
    text = README.read_text(encoding="utf-8")
    assert render(text) == text, "README settings table is stale: run `make docs`"
