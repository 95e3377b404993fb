"""`streaming consume maintenance`: each closed sensor window scored for failure within the horizon.

sources  sensor_windows (WindowAggregate, keyed by machine) and labels (machine failures; others counted)
state    the whole `MaintenanceScorer` (machine history, anomaly and failure models, pending windows,
         threshold, alert policy), checkpointed to files with the input offsets it reflects
sinks    scores (Score), alerts (Alert, after suppression)
"""

from __future__ import annotations

from pathlib import Path

from consumers.learning.service import ScoringProcessor, scoring_service
from consumers.maintenance.scorer import MaintenanceScorer
from consumers.maintenance.settings import MaintenanceSettings
from streaming.app import Application
from streaming.config import Settings
from streaming.schemas import WindowAggregate

SERVICE = "maintenance"


def build(
    settings: Settings,
    bootstrap: str | None = None,
    checkpoint_dir: Path | None = None,
    max_events: int | None = None,
    instance_id: str | None = None,
) -> tuple[Application, ScoringProcessor]:
    """The maintenance service as an application, ready to `run()`, and its scoring processor."""
    return scoring_service(
        settings,
        SERVICE,
        MaintenanceSettings,
        MaintenanceScorer,
        "sensor_windows",
        WindowAggregate,
        bootstrap,
        checkpoint_dir,
        max_events,
        instance_id,
    )
