"""`streaming consume windows`: its options, and running it."""

from __future__ import annotations

import argparse

from streaming.cli.common import add_common_options, add_run_options, settings_from_args
from streaming.config import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_options(parser)
    add_run_options(parser, "downsampler")
    parser.add_argument(
        "--window-size", type=float, help="window size in seconds (windows.window_size_seconds)"
    )
    parser.add_argument("--window-step", type=float, help="hop between windows in seconds; omit for tumbling")
    parser.add_argument("--allowed-lateness", type=float, help="seconds of lateness tolerated")
    parser.add_argument(
        "--idle-timeout", type=float, help="close a silent machine's windows after this (wall s)"
    )
    parser.add_argument("--state-ttl", type=float, help="forget a silent machine after this (wall s)")
    parser.add_argument("--guarantee", choices=["exactly-once", "at-least-once"], help="processing guarantee")


def settings_with_overrides(args: argparse.Namespace) -> Settings:
    from consumers.downsampler.settings import WindowSettings

    settings = settings_from_args(args)
    updates = {
        "window_size_seconds": args.window_size,
        "window_step_seconds": args.window_step,
        "window_type": "hopping" if args.window_step is not None else None,
        "allowed_lateness_seconds": args.allowed_lateness,
        "idle_timeout_seconds": args.idle_timeout,
        "state_ttl_seconds": args.state_ttl,
    }
    windows = settings.section("windows", WindowSettings)
    windows = WindowSettings.model_validate(
        {**windows.model_dump(), **{name: value for name, value in updates.items() if value is not None}}
    )
    settings = settings.with_section("windows", windows)
    if args.guarantee:
        processing = settings.processing.model_copy(update={"processing_guarantee": args.guarantee})
        settings = settings.model_copy(update={"processing": processing})
    return settings


def run(args: argparse.Namespace) -> int:
    from consumers.downsampler.service import SERVICE, build, tune_garbage_collector
    from streaming.cli.service import run_application

    settings = settings_with_overrides(args)
    tune_garbage_collector()
    return run_application(
        args, settings, SERVICE, lambda bootstrap: build(settings, bootstrap, args.instance_id)
    )
