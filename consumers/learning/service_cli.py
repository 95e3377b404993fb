"""The command line both scoring services share: `streaming consume fraud|maintenance`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streaming.cli.common import add_common_options, add_run_options

if TYPE_CHECKING:
    from streaming.app import Application


def add_scoring_arguments(parser: argparse.ArgumentParser, service: str) -> None:
    add_common_options(parser)
    add_run_options(parser, service)
    parser.add_argument("--max-events", type=int, help="stop after scoring this many input events")
    parser.add_argument("--checkpoint-dir", type=Path, help="where model checkpoints go")


def run_scoring(args: argparse.Namespace, service: str, build: Callable[..., tuple[Application, Any]]) -> int:
    """Run a scoring service from its parsed options; `build` is its package's `service.build`."""
    from streaming.cli.common import settings_from_args
    from streaming.cli.service import run_application

    settings = settings_from_args(args)
    built: list[Any] = []

    def make(bootstrap: str) -> Application:
        app, processor = build(
            settings,
            bootstrap,
            checkpoint_dir=args.checkpoint_dir,
            max_events=args.max_events,
            instance_id=args.instance_id,
        )
        built.append(processor)
        return app

    def describe() -> str:
        return f"{built[0].scored} scored, {built[0].labels} labels" if built else ""

    return run_application(args, settings, service, make, describe)
