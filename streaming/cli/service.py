"""Running a long-lived service from its command: /metrics, signals, the run, the closing summary line."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from streaming.app import Application, RunSummary
from streaming.config import Settings
from streaming.kafka import resolve_bootstrap
from streaming.metrics import start_metrics_server


def serve_metrics(args: argparse.Namespace, settings: Settings, service: str) -> int | None:
    """Start the /metrics endpoint unless turned off; returns the bound port."""
    if getattr(args, "no_metrics", False) or not settings.metrics.enabled:
        return None
    port = (
        args.metrics_port
        if getattr(args, "metrics_port", None) is not None
        else settings.metrics.port_for(service)
    )
    bound = start_metrics_server(port, settings.metrics.address)
    if bound is not None:
        print(f"{service}: metrics on http://{settings.metrics.address}:{bound}/metrics", flush=True)
    return bound


def run_application(
    args: argparse.Namespace,
    settings: Settings,
    service: str,
    build: Callable[[str], Application],
    describe: Callable[[], str] = lambda: "",
) -> int:
    """Serve metrics, build the application on the resolved broker, run it until stopped, print a summary."""
    serve_metrics(args, settings, service)
    app = build(resolve_bootstrap(settings))
    summary: RunSummary = app.run(
        duration=args.duration, idle_exit_seconds=args.idle_exit, install_signal_handlers=True
    )
    extra = describe()
    print(
        f"{service}: {summary.records_in} records in, {extra + ', ' if extra else ''}"
        f"{summary.dead_letters} dead letters, {summary.late_events} late, {summary.commits} commits, "
        f"{summary.checkpoints} checkpoints in {summary.seconds:.1f}s ({summary.stopped_by})",
        flush=True,
    )
    return 0
