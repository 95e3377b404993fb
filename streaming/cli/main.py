"""`streaming`: one entry point, with a subcommand per job."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from streaming.broker import BrokerError

#: Each module defines `register(subparsers)`, adding its subcommands with `set_defaults(handler=...)`.
COMMAND_MODULES: tuple[str, ...] = (
    "streaming.cli.broker",
    "streaming.cli.topics",
    "producers.cli",
    "streaming.replay.cli",
    "consumers.cli",
    "consumers.learning.cli",
    "consumers.alerting.cli",
    "streaming.cli.demo",
    "streaming.cli.bench",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streaming",
        description="Sensor and payment streams on Apache Kafka: windows, online models, alerts, metrics.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            # Only a module that does not exist yet is skipped; a broken import inside one is an error.
            if error.name is None or not module_name.startswith(error.name):
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except BrokerError as error:
        print(f"streaming: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
