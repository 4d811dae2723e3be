"""Typed view of ``resources.yaml``: the one declaration of topics, subscriptions, schedules and secrets."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

RESOURCES_FILE = Path(__file__).with_name("resources.yaml")

# Topic names the code publishes to; each must be declared in resources.yaml (a test checks).
SIGNALS = "signals"
COMMANDS = "commands"
ALERTS = "alerts"
STATEMENT_REQUESTS = "statement-requests"
EXECUTOR_SIGNALS_SUB = "executor-signals"
EXECUTOR_COMMANDS_SUB = "executor-commands"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Topic(_Frozen):
    dead_letter: str | None = None


class Subscription(_Frozen):
    topic: str
    type: Literal["pull", "push"]
    function: str | None = None
    ack_deadline_s: int = 60
    max_delivery_attempts: int | None = None
    # the retry policy: a nacked (or expired) message comes back after min_backoff_s, doubling per attempt up to
    # max_backoff_s (terraform/pubsub.tf applies both; the fault simulator redelivers on the same schedule)
    min_backoff_s: int = Field(default=10, ge=0, le=600)
    max_backoff_s: int = Field(default=600, ge=0, le=600)


class SchedulerJob(_Frozen):
    schedule: str
    topic: str


class Function(_Frozen):
    trigger: Literal["pubsub", "http"]
    entry_point: str


class Resources(_Frozen):
    topics: dict[str, Topic]
    subscriptions: dict[str, Subscription]
    scheduler: dict[str, SchedulerJob]
    functions: dict[str, Function]
    secrets: list[str]


@cache
def resources() -> Resources:
    """The declared resources (read once)."""
    return Resources.model_validate(yaml.safe_load(RESOURCES_FILE.read_text(encoding="utf-8")))
