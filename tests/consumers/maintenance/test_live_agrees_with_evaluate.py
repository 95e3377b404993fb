"""The live maintenance service over Kafka and `streaming evaluate` on the same windows report the same
ROC AUC."""

from __future__ import annotations

import pandas as pd
import pytest

from consumers.learning.evaluate import evaluate_frame
from consumers.learning.ranking import roc_auc
from consumers.learning.synthetic import MaintenanceStream
from consumers.maintenance import service as maintenance_service
from contracts import Label
from streaming.config import Settings
from streaming.kafka import ensure_topics, make_admin
from streaming.schemas import WindowAggregate
from tests.consumers.learning.support import (
    produce_progressively,
    read_scores,
    run_in_thread,
    wait_for_leaders,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(300)]

HORIZON = 1_800.0
GRACE = 300.0


def test_the_service_and_evaluate_agree_within_a_hundredth_of_roc_auc(settings: Settings) -> None:
    settings = settings.model_copy(
        update={
            "topics": settings.topics.model_copy(update={"partitions": 1}),
            "maintenance": settings.maintenance.model_copy(
                update={
                    "horizon_seconds": HORIZON,
                    "label_grace_seconds": GRACE,
                    "checkpoint_interval_seconds": 3_600.0,
                }
            ),
        }
    )
    admin = make_admin(settings, settings.kafka.bootstrap_servers or "")
    try:
        ensure_topics(admin, settings)
    finally:
        admin.close()
    stream = MaintenanceStream(seed=5, machines=12)
    events = list(stream.events(minutes=60 * 10))
    windows = [event for event in events if isinstance(event, WindowAggregate)]
    failures: dict[str, list[float]] = {}
    for event in events:
        if isinstance(event, Label):
            failures.setdefault(event.entity_id, []).append(event.event_time)
    wait_for_leaders(settings, ["sensor_windows", "labels"])
    app, _scoring = maintenance_service.build(
        settings, settings.kafka.bootstrap_servers, max_events=len(windows)
    )
    thread, outcome = run_in_thread(app, duration=150)
    produce_progressively(settings, events, "sensor_windows", chunk=500, pause_seconds=0.2)
    thread.join(timeout=180)
    assert "error" not in outcome, outcome.get("error")
    scores = {(s.entity_id, round(s.event_time, 3)): s for s in read_scores(settings, expected=len(windows))}

    def positive(window: WindowAggregate) -> bool:
        return any(0 <= t - window.window_end <= HORIZON for t in failures.get(window.key, []))

    truth = [positive(window) for window in windows]
    live = [scores[(w.key, round(w.window_end, 3))].score for w in windows]
    live_auc = roc_auc(truth, live)
    rows = []
    for window in windows:
        row = {f"{k}_{s}": v for k, stats in window.aggregates.items() for s, v in stats.items()}
        rows.append(
            {
                **row,
                "machine_id": window.key,
                "machine_type": window.attributes.get("machine_type", ""),
                "end": window.window_end,
                "fails_soon": positive(window),
            }
        )
    # The service learns a window as negative once horizon and grace have passed without a failure; it
    # learns positives earlier, when the failure is reported. One delay cannot say both, so the two runs
    # are close rather than equal.
    (result,) = evaluate_frame(
        pd.DataFrame(rows),
        "fails_soon",
        ["default"],
        task="maintenance",
        time_column="end",
        delay_seconds=HORIZON + GRACE,
        settings=settings,
    )
    assert live_auc > 0.75, live_auc
    assert abs(live_auc - result.roc_auc) <= 0.01, (live_auc, result.roc_auc)
