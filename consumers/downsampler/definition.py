"""The downsampler as a service: `streaming consume windows`."""

from __future__ import annotations

from consumers.downsampler.settings import WindowSettings
from contracts import SensorReadingBatch
from contracts.topics import SENSOR_READINGS, SENSOR_WINDOWS
from streaming.schemas import WindowAggregate
from streaming.services import Command, DemoProcess, Service, StageMetrics, StateLocation

SERVICE = Service(
    name="downsampler",
    description="downsample sensor readings into event-time window aggregates",
    commands=(
        Command(
            ("consume", "windows"),
            "downsample sensor readings into event-time window aggregates",
            "consumers.downsampler.cli:add_arguments",
            "consumers.downsampler.cli:run",
        ),
    ),
    topics=(SENSOR_READINGS, SENSOR_WINDOWS),
    settings_section="windows",
    settings=WindowSettings,
    metrics_port=9103,
    schemas=(SensorReadingBatch, WindowAggregate),
    state=StateLocation(
        group_id=lambda settings: settings.section("windows", WindowSettings).group_id,
        changelog_stores=("windows",),
    ),
    demo=DemoProcess(
        "windows",
        ("consume", "windows"),
        # Readings, not records: each sensor record carries several, and the producer counts readings too.
        metrics=StageMetrics(
            "streaming_window_input_readings_total",
            "streaming_events_out_total",
            "streaming_event_to_output_seconds",
        ),
    ),
)
