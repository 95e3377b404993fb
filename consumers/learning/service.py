"""What the fraud and maintenance services share on the consume loop: handlers that feed a scorer, score
and alert records, the checkpoint of the whole scorer, periodic metric export, and the command line.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any, Protocol

import msgspec

from consumers.learning.fraud_scorer import FraudDecision
from consumers.learning.maintenance_scorer import MaintenanceDecision
from consumers.learning.metrics import MODEL_SCORE_SECONDS
from contracts import Alert, Label, Score
from streaming.app import Application, Context, Record, RunSummary
from streaming.cli.common import add_common_options, bootstrap_for
from streaming.config import Settings
from streaming.metrics import start_metrics_server
from streaming.schemas import Codec
from streaming.state import CheckpointStore

__all__ = ["ScoringService", "add_service_arguments", "run_service", "score_record"]

log = logging.getLogger(__name__)

Decision = FraudDecision | MaintenanceDecision


class Scorer(Protocol):
    def score(self, event: Any) -> Any: ...

    def on_label(self, label: Label) -> None: ...

    def take_drift_alerts(self) -> list[Alert]: ...

    def export_metrics(self) -> None: ...

    def snapshot(self) -> Any: ...

    def restore(self, snapshot: Any) -> list[str]: ...


def score_record(decision: Decision, now: float) -> Score:
    """The `scores` record of a decision. `now` is the wall clock when it is produced."""
    attributes = {"examples_learned": str(decision.examples_learned)}
    if decision.explanation_method:
        attributes["explanation_method"] = decision.explanation_method
    if decision.challenger_score is not None:
        attributes["challenger_score"] = f"{decision.challenger_score:.6f}"
    if isinstance(decision, FraudDecision):
        tx = decision.transaction
        return Score(
            kind="fraud",
            entity_id=tx.card_id,
            event_id=tx.transaction_id,
            event_time=tx.event_time,
            score=decision.score,
            threshold=decision.threshold,
            decision=decision.decision,
            model_name=decision.model_name,
            model_version=decision.model_version,
            rule=decision.rule,
            top_features=decision.top_features,
            processing_latency_seconds=decision.seconds,
            event_to_score_latency_seconds=max(0.0, now - tx.event_time),
            scored_at=now,
            attributes={**attributes, "channel": tx.channel},
        )
    window = decision.window
    return Score(
        kind="maintenance",
        entity_id=window.key,
        event_id=window.window_id,
        event_time=window.window_end,
        score=decision.score,
        threshold=decision.threshold,
        decision=decision.decision,
        model_name=decision.model_name,
        model_version=decision.model_version,
        anomaly_score=decision.anomaly_score,
        top_features=decision.top_features,
        processing_latency_seconds=decision.seconds,
        event_to_score_latency_seconds=max(0.0, now - window.window_end),
        scored_at=now,
        attributes={**attributes, "machine_type": window.attributes.get("machine_type", "")},
    )


def challenger_record(champion: Score, decision: Decision) -> Score:
    """The shadow model's score of the same event (only when `emit_challenger_scores` is set)."""
    assert decision.challenger_score is not None
    return msgspec.structs.replace(
        champion,
        role="challenger",
        score=decision.challenger_score,
        decision=decision.challenger_score >= decision.threshold,
        model_name=decision.challenger_name,
        model_version=decision.challenger_version,
        rule=None,
        top_features=[],
    )


class ScoringService:
    """A scorer on the consume loop: the checkpointable object and the handlers.

    `max_events` stops the application once that many input events were scored (bounded runs).
    """

    def __init__(
        self, service: str, scorer: Scorer, max_events: int | None = None, emit_challenger: bool = False
    ) -> None:
        self.service = service
        self.scorer = scorer
        self.emit_challenger = emit_challenger
        self.max_events = max_events
        self.scored = 0
        self.labels = 0
        self.app: Application | None = None

    # Checkpointable ----------------------------------------------------------------------------------

    def snapshot(self) -> Any:
        return self.scorer.snapshot()

    def restore(self, snapshot: Any) -> None:
        for change in self.scorer.restore(snapshot):
            log.warning("%s: %s (promotion by config)", self.service, change)
        self.scorer.export_metrics()

    # Handlers ----------------------------------------------------------------------------------------

    def on_input(self, event: Any, record: Record, context: Context) -> None:
        decision = self.scorer.score(event)
        now = time.time()
        score = score_record(decision, now)
        context.emit("scores", score, event_time=score.event_time)
        if self.emit_challenger and decision.challenger_score is not None:
            context.emit("scores", challenger_record(score, decision))
        MODEL_SCORE_SECONDS.labels(self.service).observe(decision.seconds)
        for alert in decision.alerts:
            context.emit("alerts", alert)
        self._emit_drift(context)
        self.scored += 1
        if self.max_events is not None and self.scored >= self.max_events and self.app is not None:
            self.app.stop()

    def on_label(self, label: Label, record: Record, context: Context) -> None:
        self.scorer.on_label(label)
        self.labels += 1
        self._emit_drift(context)

    def _emit_drift(self, context: Context) -> None:
        for alert in self.scorer.take_drift_alerts():
            context.emit("alerts", alert)

    def on_timer(self, now: float, context: Context) -> None:
        self.scorer.export_metrics()

    def attach(
        self, app: Application, input_topic: str, codec: Codec[Any], label_codec: Codec[Label]
    ) -> None:
        self.app = app
        app.source(input_topic, codec, self.on_input)
        app.source("labels", label_codec, self.on_label)
        app.every(5.0, self.on_timer)


def checkpoint_store(
    settings: Settings, group_id: str, directory: Path | None, interval: float
) -> CheckpointStore:
    default = Path(settings.processing.state_dir) / f"{settings.topics.prefix}{group_id}"
    return CheckpointStore(directory or default, interval_seconds=interval)


def add_service_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_options(parser)
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--idle-exit", type=float, help="stop after this many seconds without input")
    parser.add_argument("--max-events", type=int, help="stop after scoring this many input events")
    parser.add_argument("--checkpoint-dir", type=Path, help="where model checkpoints go")
    parser.add_argument("--instance-id", help="unique per process of the group; default host name")
    parser.add_argument("--metrics-port", type=int, help="/metrics port (0 = any free port)")
    parser.add_argument("--no-metrics", action="store_true", help="do not serve /metrics")


def run_service(args: argparse.Namespace, settings: Settings, service: str, build: Any) -> int:
    if not args.no_metrics and settings.metrics.enabled:
        port = args.metrics_port if args.metrics_port is not None else settings.metrics.port_for(service)
        bound = start_metrics_server(port, settings.metrics.address)
        if bound is not None:
            print(f"{service}: metrics on http://{settings.metrics.address}:{bound}/metrics", flush=True)
    app, scoring = build(
        settings,
        bootstrap_for(settings),
        checkpoint_dir=args.checkpoint_dir,
        max_events=args.max_events,
        instance_id=args.instance_id,
    )
    summary: RunSummary = app.run(
        duration=args.duration, idle_exit_seconds=args.idle_exit, install_signal_handlers=True
    )
    print(
        f"{service}: {summary.records_in} records in, {scoring.scored} scored, {scoring.labels} labels, "
        f"{summary.dead_letters} dead letters, {summary.checkpoints} checkpoints in {summary.seconds:.1f}s "
        f"({summary.stopped_by})",
        flush=True,
    )
    return 0


def build_scoring_application(
    settings: Settings,
    service: str,
    config: Any,
    scorer: Any,
    source_topic: str,
    event_type: type[Any],
    bootstrap: str | None = None,
    checkpoint_dir: Path | None = None,
    max_events: int | None = None,
    instance_id: str | None = None,
) -> tuple[Application, ScoringService]:
    """A scoring service on the core loop: `source_topic` and labels in, scores and alerts out, with the
    whole scorer checkpointed together with the input offsets."""
    scoring = ScoringService(
        service, scorer, max_events=max_events, emit_challenger=config.emit_challenger_scores
    )
    app = Application(
        settings,
        service=service,
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
    scoring.attach(app, source_topic, Codec(event_type, limit), Codec(Label, limit))
    return app, scoring
