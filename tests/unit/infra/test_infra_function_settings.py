"""Every environment variable terraform sets on a function (plain or from Secret Manager) is one of the settings
that function reads: a misspelt or stale name would deploy silently and leave the setting at its default."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import pytest
from infra_support import REPO, TERRAFORM
from pydantic import AliasChoices

from iamcheck.terraform import parse_file
from spreadpilot.settings import CommonSettings


def accepted_env(function: str) -> set[str]:
    """The environment variables the function's settings class reads."""
    names: set[str] = set()
    for package in sorted(p.parent.name for p in (REPO / "functions" / function).glob("*/settings.py")):
        module = importlib.import_module(f"{package}.settings")
        for cls in vars(module).values():
            if inspect.isclass(cls) and issubclass(cls, CommonSettings) and cls.__module__ == module.__name__:
                prefix = str(cls.model_config.get("env_prefix", ""))
                for field, info in cls.model_fields.items():
                    alias = info.validation_alias
                    if isinstance(alias, AliasChoices):
                        names.update(str(choice) for choice in alias.choices)
                    elif isinstance(alias, str):
                        names.add(alias)
                    else:
                        names.add(f"{prefix}{field}".upper())
    return names


def terraform_env(tf: dict[str, Any], function: str) -> set[str]:
    """What functions.tf and the example tfvars set on ``function``."""
    loc = tf["locals"]
    env = set(loc["function_common_env"]) | set(loc["function_derived_env"].get(function, {}))
    env |= {grant["env"] for grant in loc["secret_accessors"].get(function, {}).values()}
    example = parse_file(TERRAFORM / "terraform.tfvars.example")
    return env | set(example.get("function_env", {}).get(function, {}))


FUNCTIONS = sorted(p.name for p in (REPO / "functions").iterdir() if (p / "main.py").is_file())


@pytest.mark.parametrize("function", FUNCTIONS)
def test_terraform_sets_only_settings_the_function_reads(tf: dict[str, Any], function: str) -> None:
    accepted = accepted_env(function)
    assert accepted, f"{function} has no settings class"
    assert sorted(terraform_env(tf, function) - accepted) == []


def test_the_signal_poller_gets_its_required_sheet_id_from_terraform(tf: dict[str, Any]) -> None:
    assert "SPREADPILOT_SHEET_ID" in tf["locals"]["function_derived_env"]["signal_poller"]
