"""The live fraud service over Kafka and `streaming evaluate` on the same stream report the same ROC AUC."""

from __future__ import annotations

import msgspec
import pandas as pd
import pytest

from consumers.fraud import service as fraud_service
from consumers.learning.evaluate import evaluate_frame
from consumers.learning.ranking import roc_auc
from consumers.learning.synthetic import FraudStream
from contracts import Label, Transaction
from streaming.config import Settings
from streaming.kafka import ensure_topics, make_admin
from tests.consumers.learning.support import (
    produce_progressively,
    read_scores,
    run_in_thread,
    wait_for_leaders,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(300)]

#: Seconds of event time after which a transaction's label is learned, in both runs: chargebacks are
#: reported this late, and the service learns an unreported transaction as legitimate this late too.
LABEL_DELAY = 300.0
TRANSACTIONS = 4_000


def test_the_service_and_evaluate_agree_within_a_hundredth_of_roc_auc(settings: Settings) -> None:
    # One partition per topic: one input order for the service, the order evaluate reads the rows in.
    settings = settings.model_copy(
        update={
            "topics": settings.topics.model_copy(update={"partitions": 1}),
            "fraud": settings.fraud.model_copy(
                update={"label_horizon_seconds": LABEL_DELAY, "checkpoint_interval_seconds": 3_600.0}
            ),
        }
    )
    admin = make_admin(settings, settings.kafka.bootstrap_servers or "")
    try:
        ensure_topics(admin, settings)
    finally:
        admin.close()
    stream = FraudStream(seed=21, cards=1_500, rate_per_second=5.0, chargeback_delay_seconds=LABEL_DELAY)
    events = list(stream.events(TRANSACTIONS))
    transactions = [event for event in events if isinstance(event, Transaction)]
    assert len(transactions) == TRANSACTIONS and any(isinstance(event, Label) for event in events)

    wait_for_leaders(settings, ["transactions", "labels"])
    app, _scoring = fraud_service.build(settings, settings.kafka.bootstrap_servers, max_events=TRANSACTIONS)
    thread, outcome = run_in_thread(app, duration=180)
    produce_progressively(settings, events, "transactions")
    thread.join(timeout=200)
    assert "error" not in outcome, outcome.get("error")
    scores = {score.event_id: score for score in read_scores(settings, expected=TRANSACTIONS)}
    truth = [tx.transaction_id in stream.frauds for tx in transactions]
    live_auc = roc_auc(truth, [scores[tx.transaction_id].score for tx in transactions])

    frame = pd.DataFrame(
        [
            {**msgspec.structs.asdict(tx), "is_fraud": int(fraud)}
            for tx, fraud in zip(transactions, truth, strict=True)
        ]
    )
    (result,) = evaluate_frame(
        frame,
        "is_fraud",
        ["default"],
        task="fraud",
        time_column="event_time",
        delay_seconds=LABEL_DELAY,
        settings=settings,
    )
    assert live_auc > 0.8, live_auc  # a model that learned, not two coin flips agreeing
    assert abs(live_auc - result.roc_auc) <= 0.01, (live_auc, result.roc_auc, result.calibrated_roc_auc)
