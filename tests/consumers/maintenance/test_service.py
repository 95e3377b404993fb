"""`streaming consume maintenance` against the real broker."""

from __future__ import annotations

import msgspec
import pytest

from consumers.learning.evaluate import roc_auc
from consumers.learning.models import describe
from consumers.learning.synthetic import MaintenanceStream
from consumers.maintenance import service as maintenance_service
from contracts import Alert, Label
from streaming.config import Settings
from streaming.schemas import WindowAggregate
from tests.consumers.learning.support import (
    produce_progressively,
    read_scores,
    run_in_thread,
    wait_for_leaders,
)
from tests.support.kafka import read_all

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

#: The stated margin: after warm-up the online ROC AUC beats the constant predictor (0.5) by 0.25.
MARGIN_OVER_CONSTANT = 0.25


def test_online_auc_beats_constant_and_alerts_resolve(topics: Settings) -> None:
    config = topics.maintenance.model_copy(
        update={
            "horizon_seconds": 1_800.0,
            "label_grace_seconds": 300.0,
            "checkpoint_interval_seconds": 3_600.0,
        }
    )
    settings = topics.model_copy(update={"maintenance": config})
    stream = MaintenanceStream(seed=5, machines=12)
    events = list(stream.events(minutes=60 * 10))
    windows = [event for event in events if isinstance(event, WindowAggregate)]
    failures = [event for event in events if isinstance(event, Label)]
    wait_for_leaders(settings, ["sensor_windows", "labels"])
    app, scoring = maintenance_service.build(
        settings, settings.kafka.bootstrap_servers, max_events=len(windows)
    )
    thread, outcome = run_in_thread(app, duration=150)
    produce_progressively(settings, events, "sensor_windows", chunk=500, pause_seconds=0.2)
    thread.join(timeout=180)
    assert "error" not in outcome, outcome.get("error")
    assert scoring.scored == len(windows)

    # The truth: a window is positive when its machine failed within the horizon after it ended.
    failure_times: dict[str, list[float]] = {}
    for failure in failures:
        failure_times.setdefault(failure.entity_id, []).append(failure.event_time)
    scores = sorted(read_scores(settings, expected=len(windows)), key=lambda score: score.event_time)
    after_warmup = scores[len(scores) // 3 :]
    truth = [
        any(0 <= t - score.event_time <= 1_800.0 for t in failure_times.get(score.entity_id, []))
        for score in after_warmup
    ]
    assert 20 < sum(truth) < len(truth) / 2
    service_auc = roc_auc(truth, [score.score for score in after_warmup])
    assert service_auc >= 0.5 + MARGIN_OVER_CONSTANT, service_auc
    assert all(score.anomaly_score is not None for score in scores)
    assert {score.model_name for score in after_warmup} == {describe(config.champion)}
    assert scoring.scorer.label_outcomes["joined"] > 20

    alerts = [
        msgspec.json.decode(record.value, type=Alert)
        for record in read_all(settings, settings.topic_name("alerts"))
    ]
    firing = [alert for alert in alerts if alert.kind == "maintenance" and alert.status == "firing"]
    resolved = [alert for alert in alerts if alert.status == "resolved"]
    assert firing and resolved
    assert {alert.entity_id for alert in resolved} <= {alert.entity_id for alert in firing}
