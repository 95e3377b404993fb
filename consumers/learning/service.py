"""A scorer on the consume loop: input events and labels in, scores and alerts out, the whole scorer
checkpointed with the input offsets it reflects. The fraud and maintenance services are this processor
around their own scorer."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import msgspec

from consumers.alerting.settings import AlertSettings
from consumers.learning.metrics import MODEL_SCORE_SECONDS
from consumers.learning.scorer_base import ScorerBase
from consumers.learning.service_paths import checkpoint_directory
from consumers.learning.settings import ScorerSettings
from contracts import Label, Score
from streaming.app import Application, Context, ProcessorBase, Record, Source
from streaming.config import Settings
from streaming.schemas import Codec
from streaming.state import CheckpointStore

__all__ = ["ScoringProcessor", "build_scoring_application"]

log = logging.getLogger(__name__)


def challenger_record(champion: Score, decision: Any) -> Score:
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


class ScoringProcessor(ProcessorBase):
    """Scores each input event, learns from each label, exports the scorer's metrics every few seconds.

    Parameters
    ----------
    service
        The metrics label (the scorer's service).
    scorer
        The fraud or maintenance scorer.
    source
        The input topic and its codec.
    label_codec
        How labels decode.
    max_events
        Stop the service once this many input events were scored (bounded runs).
    emit_challenger
        Also write the challenger's scores.
    """

    timer_interval_seconds = 5.0

    def __init__(
        self,
        service: str,
        scorer: ScorerBase,
        source: Source,
        label_codec: Codec[Label],
        max_events: int | None = None,
        emit_challenger: bool = False,
    ) -> None:
        self.input_topic = source.topic
        super().__init__("scorer", [source, Source("labels", label_codec)])
        self.service = service
        self.scorer = scorer
        self.emit_challenger = emit_challenger
        self.max_events = max_events
        self.scored = 0
        self.labels = 0

    def on_record(self, event: Any, record: Record, context: Context) -> None:
        if record.topic == context.topic(self.input_topic):
            self._score(event, context)
        else:
            self.scorer.on_label(event)
            self.labels += 1
        for alert in self.scorer.take_drift_alerts():
            context.emit("alerts", alert)

    def _score(self, event: Any, context: Context) -> None:
        decision = self.scorer.score(event)
        score = self.scorer.score_record(decision, time.time())
        context.emit("scores", score, event_time=score.event_time)
        if self.emit_challenger and decision.challenger_score is not None:
            context.emit("scores", challenger_record(score, decision))
        MODEL_SCORE_SECONDS.labels(self.service).observe(decision.seconds)
        for alert in decision.alerts:
            context.emit("alerts", alert)
        self.scored += 1
        if self.max_events is not None and self.scored >= self.max_events:
            context.stop()

    def on_timer(self, now: float, context: Context) -> None:
        self.scorer.export_metrics()

    def snapshot(self) -> Any:
        return self.scorer.snapshot()

    def restore(self, snapshot: Any) -> None:
        for change in self.scorer.restore(snapshot):
            log.warning("%s: %s (promotion by config)", self.service, change)
        self.scorer.export_metrics()


def build_scoring_application(
    settings: Settings,
    service: str,
    config: ScorerSettings,
    scorer: ScorerBase,
    source_topic: str,
    event_type: type[Any],
    bootstrap: str | None = None,
    checkpoint_dir: Path | None = None,
    max_events: int | None = None,
    instance_id: str | None = None,
) -> tuple[Application, ScoringProcessor]:
    """A scoring service on the core loop, ready to `run()`, and its processor."""
    limit = settings.topics.max_message_bytes
    processor = ScoringProcessor(
        service,
        scorer,
        Source(source_topic, Codec(event_type, limit)),
        Codec(Label, limit),
        max_events=max_events,
        emit_challenger=config.emit_challenger_scores,
    )
    checkpoints = CheckpointStore(
        checkpoint_dir or checkpoint_directory(settings, config),
        interval_seconds=config.checkpoint_interval_seconds,
        reset_hint=f"streaming state reset --service {service}",
    )
    app = Application(
        settings,
        service=service,
        group_id=config.group_id,
        bootstrap=bootstrap,
        checkpoints=checkpoints,
        instance_id=instance_id,
    )
    app.add(processor)
    return app, processor


def scoring_service(
    settings: Settings,
    service: str,
    section: type[ScorerSettings],
    scorer_type: type[ScorerBase],
    source_topic: str,
    event_type: type[Any],
    bootstrap: str | None = None,
    checkpoint_dir: Path | None = None,
    max_events: int | None = None,
    instance_id: str | None = None,
) -> tuple[Application, ScoringProcessor]:
    """A scorer's whole service from its settings section `[service]`: the scorer built from it (with the
    alert cooldown of `[alerts]`) on the consume loop."""
    config = settings.section(service, section)
    cooldown = settings.section("alerts", AlertSettings).cooldown_seconds
    scorer = scorer_type(config, alert_cooldown=cooldown)
    return build_scoring_application(
        settings,
        service,
        config,
        scorer,
        source_topic,
        event_type,
        bootstrap,
        checkpoint_dir,
        max_events,
        instance_id,
    )
