"""Wiring: real adapters from settings, and the conversions between Flask and the API's own request types."""

from __future__ import annotations

import flask

from admin_api.auth import HttpCertSource, TokenVerifier
from admin_api.deps import Deps
from admin_api.http import ApiRequest, ApiResponse
from admin_api.identity_platform import identity_platform
from admin_api.operators import OperatorVerifier
from admin_api.routes import AdminApi
from admin_api.settings import AdminSettings
from admin_api.statements import SignedUrlLinks
from spreadpilot.events import FirestoreEvents
from spreadpilot.publisher import PubSubPublisher
from spreadpilot.secrets import Secrets
from spreadpilot.store import Store, firestore_client


def build_api(settings: AdminSettings) -> AdminApi:
    """The API over the real Firestore, Pub/Sub, Secret Manager, Identity Platform and token issuer of ``settings``."""
    store = Store(firestore_client(settings.project))
    # Operators' records (disabled, changed role) apply on the next request, not when the token expires.
    tokens = TokenVerifier(HttpCertSource(settings.auth_cert_url), issuer=settings.issuer, audience=settings.audience)
    verifier = OperatorVerifier(tokens, store)
    deps = Deps(store=store, publisher=PubSubPublisher(settings.project),
                secrets=Secrets(settings.project), verifier=verifier,
                links=SignedUrlLinks(settings.signed_url_ttl_s), settings=settings, events=FirestoreEvents(store.db),
                directory=identity_platform(settings.project))
    return AdminApi(deps)


def from_flask(request: flask.Request) -> ApiRequest:
    """The API's view of a Flask request."""
    return ApiRequest(method=request.method, path=request.path, query=dict(request.args.items()),
                      headers={k.lower(): v for k, v in request.headers.items()},
                      body=request.get_data(cache=False))


def to_flask(response: ApiResponse) -> flask.Response:
    """A Flask response carrying ``response``."""
    return flask.Response(response.payload(), status=response.status, headers=dict(response.headers),
                          content_type=response.content_type)
