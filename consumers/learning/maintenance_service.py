"""`streaming consume maintenance`: each closed sensor window scored for failure within the horizon.

sources  sensor_windows (WindowAggregate, keyed by machine) and labels (machine failures; others counted)
state    the whole `MaintenanceScorer` (machine history, anomaly and failure models, pending windows,
         threshold, alert policy),
         checkpointed to files with the input offsets it reflects
sinks    scores (Score), alerts (Alert, after suppression)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from consumers.learning.maintenance_scorer import MaintenanceScorer
from consumers.learning.service import (
    ScoringService,
    add_service_arguments,
    build_scoring_application,
    run_service,
)
from streaming.app import Application
from streaming.cli.common import settings_from_args
from streaming.config import Settings
from streaming.schemas import WindowAggregate

SERVICE = "maintenance"

__all__ = ["add_arguments", "build", "run"]


def build(
    settings: Settings,
    bootstrap: str | None = None,
    checkpoint_dir: Path | None = None,
    max_events: int | None = None,
    instance_id: str | None = None,
) -> tuple[Application, ScoringService]:
    """The maintenance service as an application, ready to `run()`, and its scoring state."""
    scorer = MaintenanceScorer(settings.maintenance, alert_cooldown=settings.alerts.cooldown_seconds)
    return build_scoring_application(
        settings,
        SERVICE,
        settings.maintenance,
        scorer,
        "sensor_windows",
        WindowAggregate,
        bootstrap=bootstrap,
        checkpoint_dir=checkpoint_dir,
        max_events=max_events,
        instance_id=instance_id,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_service_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return run_service(args, settings_from_args(args), SERVICE, build)
