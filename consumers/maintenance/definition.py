"""The maintenance scorer as a service: `streaming consume maintenance`."""

from __future__ import annotations

from consumers.learning.service_paths import scorer_checkpoints
from consumers.maintenance.settings import MaintenanceSettings
from contracts import Alert, Score
from contracts.topics import ALERTS, LABELS, SCORES, SENSOR_WINDOWS
from streaming.services import Command, DemoProcess, Service, StateLocation

SERVICE = Service(
    name="maintenance",
    description="score sensor windows for imminent failure",
    commands=(
        Command(
            ("consume", "maintenance"),
            "score sensor windows for imminent failure",
            "consumers.maintenance.cli:add_arguments",
            "consumers.maintenance.cli:run",
        ),
    ),
    topics=(SENSOR_WINDOWS, LABELS, SCORES, ALERTS),
    settings_section="maintenance",
    settings=MaintenanceSettings,
    metrics_port=9104,
    schemas=(Score, Alert),
    alert_kinds=("maintenance", "drift"),
    state=StateLocation(
        group_id=lambda settings: settings.section("maintenance", MaintenanceSettings).group_id,
        checkpoint_dir=scorer_checkpoints("maintenance", MaintenanceSettings),
    ),
    demo=DemoProcess("maintenance scoring", ("consume", "maintenance"), model_metrics=True, slo_seconds=1.0),
)
