"""Typed settings, read once in an entry point and passed down.

Every component defines a subclass of ``CommonSettings`` with its own fields; ``load_settings`` turns a missing or
invalid value into a ``ConfigError`` that names the environment variable to fix.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from spreadpilot.clock import RealClock, SimClock, parse_clock
from spreadpilot.errors import ConfigError

ENV_PREFIX = "SPREADPILOT_"


class CommonSettings(BaseSettings):
    """Settings every process has."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    project: str = Field(
        validation_alias=AliasChoices("GOOGLE_CLOUD_PROJECT", "SPREADPILOT_PROJECT"),
        description="the Google Cloud project (Firestore, Pub/Sub, Secret Manager)",
    )
    clock: str = Field(
        default="real",
        description="'real', or a simulated day 'sim:<start-iso>@<speed>x/<anchor-epoch>' shared by every process",
    )
    log_level: str = Field(
        default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$", description="DEBUG, INFO, WARNING or ERROR"
    )
    web_base_url: str = Field(default="http://127.0.0.1:8080", description="admin web app, for deep links")

    def make_clock(self) -> RealClock | SimClock:
        """The clock these settings choose."""
        return parse_clock(self.clock)


S = TypeVar("S", bound=BaseSettings)


TICKERS_PATTERN = r"^[A-Za-z]{1,6}(,[A-Za-z]{1,6})*$"  # SPREADPILOT_ALLOWED_TICKERS, the same for every part


def ticker_set(allowed: str) -> frozenset[str]:
    """A comma-separated ``SPREADPILOT_ALLOWED_TICKERS`` as the set of upper-case tickers."""
    return frozenset(t.strip().upper() for t in allowed.split(","))


def env_name(settings_cls: type[BaseSettings], field: str) -> str:
    """The environment variable that sets ``field``."""
    info = settings_cls.model_fields.get(field)
    if info is None:
        return field  # pydantic reports an aliased field under its alias, which is the variable's name
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    if isinstance(alias, str):
        return alias
    prefix = str(settings_cls.model_config.get("env_prefix", ""))
    return f"{prefix}{field}".upper()


def load_settings(settings_cls: type[S]) -> S:
    """Read ``settings_cls`` from the environment or fail with the names of the variables to fix."""
    try:
        settings = settings_cls()
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            what = "is missing" if err["type"] == "missing" else f"is invalid: {err['msg']}"
            problems.append(f"{env_name(settings_cls, field)} {what}")
        raise ConfigError(f"{settings_cls.__name__}: " + "; ".join(problems)) from exc
    clock = getattr(settings, "clock", None)
    if isinstance(clock, str):
        parse_clock(clock)  # a malformed clock is a start-up error, not a first-request error
    return settings
