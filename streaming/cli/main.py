"""`streaming`: one entry point, with a subcommand per job."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from streaming.broker import BrokerError

#: command -> the module that registers it (`register(subparsers)`, with `set_defaults(handler=...)`).
COMMAND_MODULES: dict[str, str] = {
    "broker": "streaming.cli.broker",
    "topics": "streaming.cli.topics",
    "config": "streaming.cli.config",
    "produce": "producers.cli",
    "replay": "streaming.replay.cli",
    "record": "streaming.replay.cli",
    "rewind": "streaming.replay.cli",
    "consume": "consumers.cli",
    "evaluate": "consumers.learning.cli",
    "alerts": "consumers.alerting.cli",
    "demo": "streaming.cli.demo",
    "bench": "streaming.cli.bench",
}


#: The arguments being parsed, for modules that register lazily (see consumers/cli.py).
current_arguments: list[str] = []


def requested_word(argv: Sequence[str], position: int = 0) -> str | None:
    """The `position`-th word of argv that is not an option, e.g. the subcommand."""
    words = [word for word in argv if not word.startswith("-")]
    return words[position] if len(words) > position else None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser. With argv naming a command, only that command's module is imported: services start
    faster and one command's import problems cannot break another."""
    parser = argparse.ArgumentParser(
        prog="streaming",
        description="Sensor and payment streams on Apache Kafka: windows, online models, alerts, metrics.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    command = requested_word(argv or [])
    modules = (
        [COMMAND_MODULES[command]]
        if command in COMMAND_MODULES
        else list(dict.fromkeys(COMMAND_MODULES.values()))
    )
    for module_name in modules:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    current_arguments[:] = arguments
    parser = build_parser(arguments)
    args = parser.parse_args(arguments)
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
