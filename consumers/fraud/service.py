"""`streaming consume fraud`: every transaction scored within the latency budget.

sources  transactions (Transaction, keyed by card) and labels (chargebacks; other kinds are counted)
state    the whole `FraudScorer` (card state, models, pending predictions, threshold, alert policy),
         checkpointed to files with the input offsets it reflects
sinks    scores (Score), alerts (Alert, after suppression)
"""

from __future__ import annotations

from pathlib import Path

from consumers.alerting.settings import AlertSettings
from consumers.fraud.scorer import FraudScorer
from consumers.fraud.settings import FraudSettings
from consumers.learning.service import ScoringProcessor, build_scoring_application
from contracts import Transaction
from streaming.app import Application
from streaming.config import Settings

SERVICE = "fraud"


def build(
    settings: Settings,
    bootstrap: str | None = None,
    checkpoint_dir: Path | None = None,
    max_events: int | None = None,
    instance_id: str | None = None,
) -> tuple[Application, ScoringProcessor]:
    """The fraud service as an application, ready to `run()`, and its scoring processor."""
    config = settings.section("fraud", FraudSettings)
    scorer = FraudScorer(config, alert_cooldown=settings.section("alerts", AlertSettings).cooldown_seconds)
    return build_scoring_application(
        settings,
        SERVICE,
        config,
        scorer,
        "transactions",
        Transaction,
        bootstrap,
        checkpoint_dir,
        max_events,
        instance_id,
    )
