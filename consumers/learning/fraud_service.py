"""`streaming consume fraud`: every transaction scored within the latency budget.

sources  transactions (Transaction, keyed by card) and labels (chargebacks; other kinds are counted)
state    the whole `FraudScorer` (card state, models, pending predictions, threshold, alert policy),
         checkpointed to files with the input offsets it reflects
sinks    scores (Score), alerts (Alert, after suppression)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from consumers.learning.fraud_scorer import FraudScorer
from consumers.learning.service import (
    ScoringService,
    add_service_arguments,
    build_scoring_application,
    run_service,
)
from contracts import Transaction
from streaming.app import Application
from streaming.cli.common import settings_from_args
from streaming.config import Settings

SERVICE = "fraud"

__all__ = ["add_arguments", "build", "run"]


def build(
    settings: Settings,
    bootstrap: str | None = None,
    checkpoint_dir: Path | None = None,
    max_events: int | None = None,
    instance_id: str | None = None,
) -> tuple[Application, ScoringService]:
    """The fraud service as an application, ready to `run()`, and its scoring state."""
    scorer = FraudScorer(settings.fraud, alert_cooldown=settings.alerts.cooldown_seconds)
    return build_scoring_application(
        settings,
        SERVICE,
        settings.fraud,
        scorer,
        "transactions",
        Transaction,
        bootstrap=bootstrap,
        checkpoint_dir=checkpoint_dir,
        max_events=max_events,
        instance_id=instance_id,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_service_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return run_service(args, settings_from_args(args), SERVICE, build)
