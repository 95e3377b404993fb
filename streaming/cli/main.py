"""`streaming`: one entry point; its commands come from the core and from every registered service.

The parser is built from declarations (`Command`, `CommandGroup`): every command's options are added from
its light `arguments` module, so `--help` lists everything; its `run` module is imported only when it
runs. Nothing guesses from argv.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from streaming.broker import BrokerError
from streaming.cli.commands import CORE_COMMANDS, GROUPS
from streaming.cli.common import add_common_options
from streaming.services import Command, CommandGroup, RegistryError, registry, resolve
from streaming.state import CheckpointError

RUN_ATTRIBUTE = "_streaming_run"


class _Tree:
    """The parser's nesting: a subparsers action per group word path, created on first use."""

    def __init__(self, root: argparse.ArgumentParser, groups: dict[tuple[str, ...], CommandGroup]) -> None:
        self.groups = groups
        self._parsers: dict[tuple[str, ...], argparse.ArgumentParser] = {(): root}
        self._children: dict[tuple[str, ...], argparse._SubParsersAction[argparse.ArgumentParser]] = {}

    def children(self, path: tuple[str, ...]) -> argparse._SubParsersAction[argparse.ArgumentParser]:
        if path not in self._children:
            parser = self.parser(path)
            self._children[path] = parser.add_subparsers(
                dest="_".join(("command", *path)),
                metavar="COMMAND" if not path else "ACTION",
                required=bool(path),
            )
        return self._children[path]

    def parser(self, path: tuple[str, ...]) -> argparse.ArgumentParser:
        if path not in self._parsers:
            group = self.groups.get(path)
            help_text = group.help if group else None
            parser = self.children(path[:-1]).add_parser(
                path[-1], help=help_text, description=(group.description or group.help) if group else None
            )
            add_common_options(parser)
            self._parsers[path] = parser
        return self._parsers[path]

    def add(self, command: Command) -> None:
        parent = self.children(command.path[:-1])
        parser = parent.add_parser(
            command.path[-1], help=command.help, description=command.description or command.help
        )
        resolve(command.arguments)(parser)
        parser.set_defaults(**{RUN_ATTRIBUTE: command.run})


def commands() -> list[Command]:
    """Every command: the core's, then the services', in the order they are listed in `--help`."""
    services = registry()
    found: dict[tuple[str, ...], Command] = {command.path: command for command in CORE_COMMANDS}
    for path, command in services.commands.items():
        if path in found:
            raise RegistryError(f"`{command.name}` is a core command; a service may not redefine it")
        found[path] = command
    return list(found.values())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streaming",
        description="Streaming pipelines on Apache Kafka: event-time windows, online models, alerts.",
    )
    groups = {group.path: group for group in GROUPS}
    for path, group in registry().groups().items():
        groups.setdefault(path, group)
    tree = _Tree(parser, groups)
    tree.children(())
    # Groups first, in declaration order, so `--help` lists them before the single commands.
    for path in groups:
        if any(command.path[: len(path)] == path for command in commands()):
            tree.parser(path)
    for command in commands():
        tree.add(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
    except RegistryError as error:
        print(f"streaming: {error}", file=sys.stderr)
        return 2
    args = parser.parse_args(arguments)
    run = getattr(args, RUN_ATTRIBUTE, None)
    if run is None:
        parser.print_help()
        return 2
    try:
        return int(resolve(run)(args) or 0)
    except (BrokerError, CheckpointError) as error:
        print(f"streaming: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
