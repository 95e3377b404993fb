"""The fraud scorer as a service: `streaming consume fraud`."""

from __future__ import annotations

from consumers.fraud.settings import FraudSettings
from consumers.learning.service_paths import scorer_checkpoints
from contracts import Alert, Score, Transaction
from contracts.topics import ALERTS, LABELS, SCORES, TRANSACTIONS
from streaming.services import Command, DemoProcess, Service, StateLocation

SERVICE = Service(
    name="fraud",
    description="score every transaction for fraud",
    commands=(
        Command(
            ("consume", "fraud"),
            "score every transaction for fraud",
            "consumers.fraud.cli:add_arguments",
            "consumers.fraud.cli:run",
        ),
    ),
    topics=(TRANSACTIONS, LABELS, SCORES, ALERTS),
    settings_section="fraud",
    settings=FraudSettings,
    metrics_port=9105,
    schemas=(Transaction, Score, Alert),
    alert_kinds=("fraud", "drift"),
    state=StateLocation(
        group_id=lambda settings: settings.section("fraud", FraudSettings).group_id,
        checkpoint_dir=scorer_checkpoints("fraud", FraudSettings),
    ),
    demo=DemoProcess("fraud scoring", ("consume", "fraud"), model_metrics=True, slo_seconds=0.1),
)
