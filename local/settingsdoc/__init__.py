"""The README's settings table, generated from the settings classes so it cannot drift (``make docs``)."""

from __future__ import annotations

import importlib
from pathlib import Path

from pydantic import AliasChoices
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from spreadpilot.settings import CommonSettings, env_name

# (component shown in the table, module, class) — every process's settings.
COMPONENTS: list[tuple[str, str, str]] = [
    ("all", "spreadpilot.settings", "CommonSettings"),
    ("signal_poller", "signal_poller.settings", "PollerSettings"),
    ("executor", "executor.settings", "ExecutorSettings"),
    ("executor (through the day)", "executor.lifecycle.settings", "LifecycleSettings"),
    ("alert_router", "alert_router.settings", "AlertRouterSettings"),
    ("telegram_bot", "telegram_bot.settings", "TelegramBotSettings"),
    ("watchdog", "deadman.settings", "WatchdogSettings"),
    ("pnl", "pnl.settings", "PnLSettings"),
    ("reports", "reports.settings", "ReportsSettings"),
    ("admin_api", "admin_api.settings", "AdminSettings"),
    ("supervisor (gateway VM)", "supervisor.settings", "SupervisorSettings"),
]
START = "<!-- settings:start -->"
END = "<!-- settings:end -->"


def _variables(cls: type[BaseSettings], name: str, info: FieldInfo) -> str:
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return " or ".join(f"`{choice}`" for choice in alias.choices if isinstance(choice, str))
    return f"`{env_name(cls, name)}`"


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "(required)"
    default = info.get_default(call_default_factory=True)
    text = "" if default is None else str(default.value if hasattr(default, "value") else default)
    return f"`{text}`" if text else "(empty)"


def rows() -> list[tuple[str, str, str, str]]:
    """(component, variables, default, meaning) for every setting; common ones only once."""
    table: list[tuple[str, str, str, str]] = []
    for component, module, class_name in COMPONENTS:
        cls = getattr(importlib.import_module(module), class_name)
        for name, info in cls.model_fields.items():
            if cls is not CommonSettings and name in CommonSettings.model_fields:
                continue
            variables = _variables(cls, name, info)
            meaning = (info.description or "").replace("|", "\\|").replace("\n", " ")
            meaning = meaning.removeprefix(f"{variables.strip('`')}: ")
            table.append((component, variables, _default(info), meaning))
    return table


def markdown() -> str:
    """The settings table in Markdown."""
    lines = ["| component | variable | default | meaning |", "|---|---|---|---|"]
    lines += [f"| {c} | {v} | {d} | {m} |" for c, v, d, m in rows()]
    return "\n".join(lines)


def render(readme_text: str) -> str:
    """``readme_text`` with its settings section regenerated."""
    head, rest = readme_text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{markdown()}\n{END}{tail}"


def write(readme: Path) -> bool:
    """Regenerate the README's settings section; True if it changed."""
    before = readme.read_text(encoding="utf-8")
    after = render(before)
    readme.write_text(after, encoding="utf-8")
    return after != before
