"""The admin API's settings (environment variables ``SPREADPILOT_*``), read once in ``main.py``."""

from __future__ import annotations

from datetime import time
from urllib.parse import urlsplit

from pydantic import Field

from spreadpilot.settings import TICKERS_PATTERN, CommonSettings, ticker_set

GOOGLE_CERT_URL = "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"


class AdminSettings(CommonSettings):
    """Where ID tokens are checked against, who may call from a browser, and how statements are linked."""

    auth_cert_url: str = Field(
        default=GOOGLE_CERT_URL,
        description="URL of the token issuer's public x509 certificates (JSON {kid: PEM}); the local issuer's "
        "on the local stack",
    )
    auth_issuer: str = Field(
        default="", description="expected 'iss' of ID tokens; empty = https://securetoken.google.com/<project>"
    )
    auth_audience: str = Field(default="", description="expected 'aud' of ID tokens; empty = the project id")
    cors_origin: str = Field(
        default="", description="the one browser origin allowed to call the API; empty = origin of web_base_url"
    )
    flatten_confirm_ttl_s: int = Field(
        default=120, ge=10, le=3600, description="seconds a flatten confirmation code stays valid"
    )
    statements_dir: str = Field(
        default="out/statements",
        description="local statements folder (the reports function's SPREADPILOT_STATEMENTS_DIR): a statement "
        "file that is not gs:// is served only from under it",
    )
    signed_url_ttl_s: int = Field(
        default=300, ge=30, le=86400, description="lifetime of a signed download URL for a gs:// statement"
    )
    allowed_tickers: str = Field(
        default="QQQ", pattern=TICKERS_PATTERN,
        description="underlyings a signal entered by hand may name (the poller's and the executor's allowlist)",
    )
    cutoff: time = Field(
        default=time(10, 30), description="no signal is entered by hand after this New York time (the poller's cutoff)"
    )
    gateway_port_base: int = Field(
        default=4101, ge=1024, le=65000, description="a new gateway gets the lowest free API port on its VM from here"
    )
    gateway_vnc_port_base: int = Field(
        default=5901, ge=1024, le=65000, description="a new gateway gets the lowest free VNC port on its VM from here"
    )

    @property
    def tickers(self) -> frozenset[str]:
        """The allowlist, upper-case."""
        return ticker_set(self.allowed_tickers)

    @property
    def issuer(self) -> str:
        """The expected token issuer."""
        return self.auth_issuer or f"https://securetoken.google.com/{self.project}"

    @property
    def audience(self) -> str:
        """The expected token audience."""
        return self.auth_audience or self.project

    @property
    def allowed_origin(self) -> str:
        """The browser origin CORS allows (scheme://host[:port])."""
        url = urlsplit(self.cors_origin or self.web_base_url)
        return f"{url.scheme}://{url.netloc}"
