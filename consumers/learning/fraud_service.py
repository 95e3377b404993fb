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
from consumers.learning.service import ScoringService, add_service_arguments, checkpoint_store, run_service
from streaming.app import Application
from streaming.cli.common import settings_from_args
from streaming.config import Settings
from streaming.schemas import Codec, Label, Transaction

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
    config = settings.fraud
    scoring = ScoringService(
        SERVICE,
        FraudScorer(config, alert_cooldown=settings.alerts.cooldown_seconds),
        max_events=max_events,
        emit_challenger=config.emit_challenger_scores,
    )
    app = Application(
        settings,
        service=SERVICE,
        group_id=config.group_id,
        bootstrap=bootstrap,
        guarantee="at-least-once",
        checkpoint=checkpoint_store(
            settings,
            config.group_id,
            checkpoint_dir or config.checkpoint_dir,
            config.checkpoint_interval_seconds,
        ),
        checkpointable=scoring,
        instance_id=instance_id,
    )
    limit = settings.topics.max_message_bytes
    scoring.attach(app, "transactions", Codec(Transaction, limit), Codec(Label, limit))
    return app, scoring


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_service_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return run_service(args, settings_from_args(args), SERVICE, build)
