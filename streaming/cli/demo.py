"""`streaming demo`: the whole pipeline in one command, with a live view and a run report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from streaming.cli.common import add_common_options, parse_duration, settings_from_args
from streaming.services import registry, resolve


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", type=parse_duration, default=60.0, help="how long to run (default 60s)")
    parser.add_argument(
        "--speedup",
        type=float,
        default=120.0,
        help="event time runs this many times faster than wall time, so labels arrive within the demo (120)",
    )
    parser.add_argument(
        "--report-dir", type=Path, default=Path("reports"), help="where run reports go (reports)"
    )
    parser.add_argument(
        "--free-ports",
        action="store_true",
        help="give every service a free metrics port instead of settings.metrics.* (for parallel runs)",
    )
    parser.add_argument("--no-prometheus", action="store_true", help="do not start Prometheus")
    parser.add_argument("--plain", action="store_true", help="plain periodic lines even on a terminal")
    parser.add_argument(
        "--stop-timeout", type=float, default=15.0, help="seconds between SIGTERM and SIGKILL"
    )
    add_common_options(parser)
    # Each service may add options of its own (e.g. the size of a simulated source).
    for service in registry().services.values():
        if service.demo_options:
            resolve(service.demo_options)(parser)


def run(args: argparse.Namespace) -> int:
    from streaming.demo.runner import Demo, DemoOptions

    settings = settings_from_args(args)
    options = DemoOptions(
        duration_seconds=args.duration,
        speedup=args.speedup,
        service_options=args,
        report_root=args.report_dir,
        free_ports=args.free_ports,
        prometheus=not args.no_prometheus,
        interactive=False if args.plain else None,
        topic_prefix=getattr(args, "topic_prefix", None),
        stop_timeout_seconds=args.stop_timeout,
    )
    result = Demo(settings, options).run()
    if result.failed:
        print(f"services that failed: {result.failed}", file=sys.stderr)
    if result.index is not None:
        print(result.index)
    if result.interrupted:
        return 130
    return 0 if result.ok else 1
