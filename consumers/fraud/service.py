"""`streaming consume fraud`: every transaction scored within the latency budget.

sources  transactions (Transaction, keyed by card) and labels (chargebacks; other kinds are counted)
state    the whole `FraudScorer` (card state, models, pending predictions, threshold, alert policy),
         checkpointed to files with the input offsets it reflects
sinks    scores (Score), alerts (Alert, after suppression)
"""

from __future__ import annotations

from pathlib import Path

from consumers.fraud.scorer import FraudScorer
from consumers.fraud.settings import FraudSettings
from consumers.learning.service import ScoringProcessor, scoring_service
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
    return scoring_service(
        settings,
        SERVICE,
        FraudSettings,
        FraudScorer,
        "transactions",
        Transaction,
        bootstrap,
        checkpoint_dir,
        max_events,
        instance_id,
    )
