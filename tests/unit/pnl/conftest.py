"""Fixtures of the P&L unit tests (defined in ``pnl_fixtures``)."""

from pnl_fixtures import publisher, records, settings

__all__ = ["publisher", "records", "settings"]
