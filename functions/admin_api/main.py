"""Cloud Function (HTTP): SpreadPilot's admin API under /api/v1 (entry point ``api``)."""

from __future__ import annotations

from datetime import UTC, datetime

import flask

from admin_api.app import build_api, from_flask, to_flask
from admin_api.routes import AdminApi
from admin_api.settings import AdminSettings
from spreadpilot.logs import configure_logging
from spreadpilot.settings import load_settings

_SETTINGS = load_settings(AdminSettings)
configure_logging("admin_api", _SETTINGS.log_level)
_CLOCK = _SETTINGS.make_clock()
_API: AdminApi = build_api(_SETTINGS)


def api(request: flask.Request) -> flask.Response:
    """Decode the HTTP request, answer it with business time and wall time, return the response."""
    response = _API.handle(from_flask(request), now=_CLOCK.now(), wall=datetime.now(UTC))
    return to_flask(response)
