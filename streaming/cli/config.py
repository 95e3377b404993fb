"""`streaming config show|table`: the effective settings, and the reference table."""

from __future__ import annotations

import argparse
import json
from typing import Any

from streaming.cli.common import add_common_options, settings_from_args
from streaming.config.reference import settings_table


def add_show_arguments(show: argparse.ArgumentParser) -> None:
    add_common_options(show)


def add_table_arguments(table: argparse.ArgumentParser) -> None:
    """No options: the table is the defaults."""


def table(args: argparse.Namespace) -> int:
    print(settings_table())
    return 0


def masked(value: Any, key: str = "") -> Any:
    """The settings with every password and secret replaced by `***`, in any section.

    >>> masked({"kafka": {"sasl_plain_password": "p"}, "hooks": [{"secrets": ["a", "b"], "url": "u"}]})
    {'kafka': {'sasl_plain_password': '***'}, 'hooks': [{'secrets': ['***', '***'], 'url': 'u'}]}
    """
    if isinstance(value, dict):
        return {name: masked(item, name) for name, item in value.items()}
    hidden = "password" in key or "secret" in key
    if isinstance(value, list):
        return ["***" if hidden else masked(item) for item in value]
    return "***" if hidden and value else value


def show(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    print(json.dumps(masked(settings.model_dump(mode="json")), indent=2))
    return 0
