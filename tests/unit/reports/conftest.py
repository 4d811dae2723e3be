"""Fixtures of the reports unit tests (builders in ``reports_fixtures``)."""

from __future__ import annotations

import pytest

from reports.settings import ReportsSettings


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> ReportsSettings:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "spreadpilot-test")
    monkeypatch.setenv("SPREADPILOT_STATEMENT_ADMIN_COPY", "admin@spreadpilot.example")
    return ReportsSettings()
