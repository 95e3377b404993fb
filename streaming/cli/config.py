"""`streaming config show|table`: the effective settings, and the reference table."""

from __future__ import annotations

import argparse
import json

from streaming.cli.common import add_common_options, settings_from_args
from streaming.config.reference import settings_table


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("config", help="show the effective settings or the settings reference")
    actions = parser.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print the effective settings (file + environment + defaults)")
    add_common_options(show)
    show.set_defaults(handler=_show)
    table = actions.add_parser("table", help="print every setting as a Markdown table")
    table.set_defaults(handler=lambda args: print(settings_table()) or 0)


def _show(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    data = settings.model_dump(mode="json")
    for secret in ("sasl_plain_password",):
        if data["kafka"].get(secret):
            data["kafka"][secret] = "***"
    for subscriber in data["alerts"].get("subscribers", []):
        subscriber["secrets"] = ["***" for _ in subscriber.get("secrets", [])]
    print(json.dumps(data, indent=2))
    return 0
