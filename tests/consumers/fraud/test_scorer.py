"""The fraud scorer without Kafka: refunds are not purchases."""

from __future__ import annotations

import msgspec

from consumers.fraud.scorer import FraudScorer
from consumers.fraud.settings import FraudSettings
from consumers.learning.synthetic import FraudStream
from contracts import Transaction


def scores_of_purchases(scorer: FraudScorer, events: list) -> dict[str, tuple]:
    out = {}
    for event in events:
        if isinstance(event, Transaction):
            decision = scorer.score(event)
            if event.transaction_type == "purchase":
                out[event.transaction_id] = (decision.score, decision.decision, decision.rule)
        else:
            scorer.on_label(event)
    return out


def with_refunds(events: list, every: int) -> list:
    """Every `every`-th purchase followed by a refund of it at the same event time (so labels resolve at the
    same moments), with an amount ten times larger: a refund counted as a purchase would move the card's
    velocity and amount features."""
    mixed = []
    for index, event in enumerate(events):
        mixed.append(event)
        if isinstance(event, Transaction) and index % every == 0:
            refund = msgspec.structs.replace(
                event,
                transaction_id=f"{event.transaction_id}-refund",
                transaction_type="refund",
                amount=event.amount * 10,
            )
            mixed.append(refund)
    return mixed


def test_refunds_do_not_change_the_features_or_scores_of_purchases_and_never_alert() -> None:
    settings = FraudSettings(label_horizon_seconds=300.0)
    events = list(
        FraudStream(seed=7, cards=200, rate_per_second=5.0, chargeback_delay_seconds=60.0).events(2_000)
    )
    mixed = with_refunds(events, every=5)
    plain_scorer, mixed_scorer = FraudScorer(settings, export=False), FraudScorer(settings, export=False)
    assert scores_of_purchases(mixed_scorer, mixed) == scores_of_purchases(plain_scorer, events)

    refund = next(
        event for event in mixed if isinstance(event, Transaction) and event.transaction_type == "refund"
    )
    learned = mixed_scorer.models.champion.learned
    decision = mixed_scorer.score(msgspec.structs.replace(refund, transaction_id="late-refund"))
    assert not decision.decision and not decision.alerts
    assert decision.rule == "refund" and decision.score == 0.0
    assert mixed_scorer.models.champion.learned == learned
    assert (
        mixed_scorer.refunds_skipped
        == sum(1 for event in mixed if isinstance(event, Transaction) and event.transaction_type == "refund")
        + 1
    )
