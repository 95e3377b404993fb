"""The sensor downsampler: raw readings in, one aggregate per machine and event-time window out.

source   sensor_readings (SensorReadingBatch), keyed by machine
windows  tumbling or hopping, on event time, with allowed lateness and an idle timeout
state    open windows and watermarks in a compacted changelog, committed with the offsets
sink     sensor_windows (WindowAggregate); late readings to late_events
"""

from __future__ import annotations

import argparse

from contracts import SensorReadingBatch
from streaming.app import Application, RunSummary
from streaming.cli.common import add_common_options, bootstrap_for, settings_from_args
from streaming.config import Settings
from streaming.metrics import start_metrics_server
from streaming.schemas import Codec
from streaming.windows import Columns, HoppingWindows, WindowedAggregation

SERVICE = "downsampler"


def sensor_columns(batch: SensorReadingBatch) -> Columns:
    """What the window aggregator reads from a sensor record."""
    return Columns(
        key=batch.machine_id,
        times=batch.event_time,
        values={
            "air_temperature_k": batch.air_temperature_k,
            "process_temperature_k": batch.process_temperature_k,
            "rotational_speed_rpm": batch.rotational_speed_rpm,
            "torque_nm": batch.torque_nm,
            "vibration_mm_s": batch.vibration_mm_s,
            "tool_wear_min": batch.tool_wear_min,
        },
        attributes={"machine_type": batch.machine_type},
    )


def build(settings: Settings, bootstrap: str | None = None, instance_id: str | None = None) -> Application:
    """The downsampler as an application, ready to `run()`."""
    config = settings.windows
    app = Application(
        settings, service=SERVICE, group_id=config.group_id, bootstrap=bootstrap, instance_id=instance_id
    )
    step = config.step_seconds()
    aggregation = WindowedAggregation(
        windows=HoppingWindows(size=config.window_size_seconds, step=step),
        fields=config.fields,
        extract=sensor_columns,
        service=SERVICE,
        allowed_lateness=config.allowed_lateness_seconds,
        idle_timeout=config.idle_timeout_seconds,
        state_ttl=config.state_ttl_seconds,
        quantile=config.quantile,
        quantile_relative_accuracy=config.quantile_relative_accuracy,
        exact_quantile_samples=config.exact_quantile_samples,
        store=app.state_store("windows"),
    )
    app.batch_source(
        "sensor_readings", Codec(SensorReadingBatch, settings.topics.max_message_bytes), aggregation.process
    )
    app.on_partitions_assigned(aggregation.partitions_assigned)
    app.on_partitions_revoked(aggregation.partitions_revoked)
    app.every(1.0, aggregation.on_timer)
    return app


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_options(parser)
    parser.add_argument(
        "--window-size", type=float, help="window size in seconds (windows.window_size_seconds)"
    )
    parser.add_argument("--window-step", type=float, help="hop between windows in seconds; omit for tumbling")
    parser.add_argument("--allowed-lateness", type=float, help="seconds of lateness tolerated")
    parser.add_argument(
        "--idle-timeout", type=float, help="close a silent machine's windows after this (wall s)"
    )
    parser.add_argument("--state-ttl", type=float, help="forget a silent machine after this (wall s)")
    parser.add_argument(
        "--instance-id", help="unique per process of the group (transactional id); default host"
    )
    parser.add_argument("--guarantee", choices=["exactly-once", "at-least-once"], help="processing guarantee")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--idle-exit", type=float, help="stop after this many seconds without input")
    parser.add_argument("--metrics-port", type=int, help="/metrics port (0 = any free port)")
    parser.add_argument("--no-metrics", action="store_true", help="do not serve /metrics")


def settings_with_overrides(args: argparse.Namespace) -> Settings:
    settings = settings_from_args(args)
    updates = {
        "window_size_seconds": args.window_size,
        "window_step_seconds": args.window_step,
        "window_type": "hopping" if args.window_step is not None else None,
        "allowed_lateness_seconds": args.allowed_lateness,
        "idle_timeout_seconds": args.idle_timeout,
        "state_ttl_seconds": args.state_ttl,
    }
    windows = settings.windows.model_copy(update={k: v for k, v in updates.items() if v is not None})
    settings = settings.model_copy(update={"windows": windows})
    if args.guarantee:
        processing = settings.processing.model_copy(update={"processing_guarantee": args.guarantee})
        settings = settings.model_copy(update={"processing": processing})
    return settings


def run(args: argparse.Namespace) -> int:
    settings = settings_with_overrides(args)
    if not args.no_metrics and settings.metrics.enabled:
        port = args.metrics_port if args.metrics_port is not None else settings.metrics.downsampler_port
        bound = start_metrics_server(port, settings.metrics.address)
        if bound is not None:
            print(f"{SERVICE}: metrics on http://{settings.metrics.address}:{bound}/metrics", flush=True)
    app = build(settings, bootstrap_for(settings), instance_id=args.instance_id)
    summary: RunSummary = app.run(
        duration=args.duration, idle_exit_seconds=args.idle_exit, install_signal_handlers=True
    )
    print(
        f"{SERVICE}: {summary.records_in} records in, {summary.dead_letters} dead letters, "
        f"{summary.late_events} late, {summary.commits} commits in {summary.seconds:.1f}s "
        f"({summary.stopped_by})",
        flush=True,
    )
    return 0
