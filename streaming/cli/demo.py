"""`streaming demo`: the whole pipeline in one command, with a live view and a run report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from streaming.cli.common import add_common_options, parse_duration, settings_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run producers, windows, models, alerts and Prometheus together; live view; report",
        description=(
            "Starts the local broker if none is configured, creates the topics (fresh ones per run unless "
            "--topic-prefix is given), starts every service as its own process with its own /metrics port, "
            "the reference alert receiver and Prometheus (when installed), shows rates, p99 latencies, lag, "
            "model metrics and alerts live, stops everything after --duration and writes "
            "<report-dir>/<timestamp>/index.html with plots."
        ),
    )
    parser.add_argument("--duration", type=parse_duration, default=60.0, help="how long to run (default 60s)")
    parser.add_argument(
        "--speedup",
        type=float,
        default=120.0,
        help="event time runs this many times faster than wall time, so labels arrive within the demo (120)",
    )
    parser.add_argument(
        "--transaction-rate", type=float, default=200.0, help="payments per wall second (default 200)"
    )
    parser.add_argument("--machines", type=int, default=100, help="simulated machines (default 100)")
    parser.add_argument(
        "--failure-rate", type=float, default=2.0, help="failures per machine per event-time day (default 2)"
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
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from streaming.demo.runner import Demo, DemoOptions

    settings = settings_from_args(args)
    options = DemoOptions(
        duration_seconds=args.duration,
        speedup=args.speedup,
        transaction_rate=args.transaction_rate,
        machines=args.machines,
        failure_rate=args.failure_rate,
        report_root=args.report_dir,
        free_ports=args.free_ports,
        prometheus=not args.no_prometheus,
        interactive=False if args.plain else None,
        topic_prefix=args.topic_prefix,
        stop_timeout_seconds=args.stop_timeout,
    )
    result = Demo(settings, options).run()
    if result.missing:
        print(f"missing services: {', '.join(sorted(result.missing))}", file=sys.stderr)
    if result.failed:
        print(f"services that failed: {result.failed}", file=sys.stderr)
    if result.index is not None:
        print(result.index)
    if result.interrupted:
        return 130
    return 0 if result.ok else 1
