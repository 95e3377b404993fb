"""The fraud pipeline without Kafka: prefilter, per-card features, champion/challenger, threshold, delayed
chargebacks, online metrics, drift and alert suppression. `streaming consume fraud` wraps it in the consume
loop; `streaming evaluate --task fraud` runs the same pipeline over a file.

Model decisions use only event time, so `snapshot()` then the same input gives the same scores.

Scores rank; the probability beside each (`attributes["probability"]` of the score record) is calibrated
from labels, and an alert is `critical` only when that probability reaches `critical_above`: for a rule,
the share of its past blocks that turned out fraudulent (none known yet: a warning).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from consumers.fraud.features import FEATURE_NAMES, FraudFeatures
from consumers.fraud.prefilter import Prefilter
from consumers.fraud.settings import FraudSettings
from consumers.learning.labels import ChargebackJoin, Prediction, Resolution
from consumers.learning.metrics import (
    ALERTS_EMITTED,
    ALERTS_SUPPRESSED,
    FRAUD_MODEL_SKIPPED,
    FRAUD_RULE_HITS,
    MODEL_PENDING_EVICTED,
    MODEL_SCORE,
    MODEL_SCORES,
    initialise,
)
from consumers.learning.scorer_base import ScorerBase, decision_attributes
from contracts import Alert, FeatureContribution, Score, Transaction, stable_alert_id

__all__ = ["FraudDecision", "FraudScorer"]

SERVICE = "fraud"
CHANNELS: tuple[str, ...] = ("pos", "online", "atm", "contactless")
RULES: tuple[str, ...] = ("block_amount", "impossible_travel", "safe_small_habitual")
#: Idle cards (by event time) are forgotten every this many transactions.
EVICT_EVERY = 10_000


@dataclass(slots=True)
class FraudDecision:
    """The outcome of scoring one transaction."""

    transaction: Transaction
    score: float
    probability: float
    decision: bool
    threshold: float
    model_name: str
    model_version: int
    rule: str | None = None
    challenger_score: float | None = None
    challenger_name: str = ""
    challenger_version: int = 0
    top_features: list[FeatureContribution] = field(default_factory=list)
    explanation_method: str = ""
    examples_learned: int = 0
    alerts: list[Alert] = field(default_factory=list)
    seconds: float = 0.0


class FraudScorer(ScorerBase):
    """Everything the fraud service knows; `snapshot()`/`restore()` make it one checkpoint.

    >>> from contracts import Transaction
    >>> scorer = FraudScorer(FraudSettings(challenger=None), export=False)
    >>> tx = Transaction(transaction_id="t-1", card_id="c-1", customer_id="u-1", merchant_id="m-1",
    ...     merchant_category="grocery", amount=42.0, event_time=1.7e9, latitude=48.85, longitude=2.35,
    ...     device_id="d-1")
    >>> decision = scorer.score(tx)
    >>> decision.model_name, decision.score, decision.decision, len(scorer.join)
    ('additive+weight', 0.5, False, 1)
    """

    service = SERVICE
    label_kind = "chargeback"

    def __init__(
        self,
        settings: FraudSettings,
        export: bool = True,
        clock: Any = time.time,
        alert_cooldown: float = 600.0,
    ) -> None:
        super().__init__(settings, export, clock, alert_cooldown)
        self.settings: FraudSettings = settings
        self.features = FraudFeatures(ttl_seconds=settings.card_state_ttl_seconds)
        self.prefilter = Prefilter(settings, export=export)
        self.join = ChargebackJoin(settings.label_horizon_seconds, settings.pending_limit)
        self.model_scored = 0
        #: Refunds seen: scored as a pass, never part of a card's purchase history nor learned from.
        self.refunds_skipped = 0
        #: Per block rule, [blocks labelled fraudulent, blocks labelled]: how far to trust the rule.
        self.rule_outcomes: dict[str, list[int]] = {}
        if export:
            initialise(SERVICE, "fraud", CHANNELS, self.threshold.value)
            for rule in RULES:
                FRAUD_RULE_HITS.labels(rule)
                FRAUD_MODEL_SKIPPED.labels(rule)

    # Scoring -----------------------------------------------------------------------------------------

    def score(self, tx: Transaction) -> FraudDecision:
        started = time.perf_counter()
        self.advance(tx.event_time)
        self.scored += 1
        if tx.transaction_type == "refund":
            # A refund gives money back: counting it as a purchase would move the card's velocity and
            # amount features, and there is no payment to block.
            self.refunds_skipped += 1
            refund = FraudDecision(tx, 0.0, 0.0, False, self.threshold.value, "rules", 0, rule="refund")
            refund.seconds = time.perf_counter() - started
            return refund
        x = self.features.transform(tx)
        if (self.scored - self.refunds_skipped) % EVICT_EVERY == 0:
            # On the event path, not a wall-clock timer: which cards are forgotten must replay identically.
            self.features.evict_idle()
        rule = self.prefilter.decide(x)
        threshold = self.threshold.value
        if rule is not None:
            probability = self.rule_precision(rule.rule) if rule.action == "block" else 0.0
            decision = FraudDecision(
                tx, rule.score, probability, rule.action == "block", threshold, "rules", 0, rule=rule.rule
            )
            # Kept with the rule's score only: its chargeback joins, is counted and scores the rule, but no
            # model learns from it.
            prediction = Prediction(
                tx.transaction_id,
                tx.card_id,
                tx.event_time,
                {},
                {"rule": rule.score},
                decision.decision,
                tx.channel,
                threshold,
                (tx.merchant_id, tx.merchant_category, rule.rule),
            )
            self._remember(prediction)
        else:
            decision, prediction = self._score_with_models(tx, x, threshold)
        if decision.decision:
            decision.alerts = self._alert(decision)
            fraud_alerts = [alert for alert in decision.alerts if alert.kind == "fraud"]
            if fraud_alerts:
                prediction.alert = fraud_alerts[-1].severity
        decision.seconds = time.perf_counter() - started
        return decision

    def rule_precision(self, rule: str) -> float:
        """The share of the rule's labelled blocks that were fraud, smoothed (0.5 before any label)."""
        frauds, labelled = self.rule_outcomes.get(rule, (0, 0))
        return (frauds + 1.0) / (labelled + 2.0)

    def _score_with_models(
        self, tx: Transaction, x: dict[str, float], threshold: float
    ) -> tuple[FraudDecision, Prediction]:
        self.model_scored += 1
        champion = self.models.champion
        score = champion.score(x)
        scores = {"champion": score}
        challenger_score = None
        if self.models.challenger is not None:
            challenger_score = self.models.challenger.score(x)
            scores["challenger"] = challenger_score
        # An untrained model says 0.5 for everything: it must not alert on everything.
        flagged = score >= threshold and champion.knows_positives
        self.threshold.observe_score(score, tx.event_time)
        top = champion.explainer.explain(x)
        champion.explainer.observe(x)
        prediction = Prediction(
            tx.transaction_id,
            tx.card_id,
            tx.event_time,
            tuple(x.values()),
            scores,
            flagged,
            tx.channel,
            threshold,
            (tx.merchant_id, tx.merchant_category, ""),
        )
        self._remember(prediction)
        if self.export:
            for slot in self.models.slots:
                role_score = scores[slot.role]
                MODEL_SCORE.labels(SERVICE, slot.role).observe(role_score)
                MODEL_SCORES.labels(SERVICE, slot.role, "alert" if role_score >= threshold else "pass").inc()
        decision = FraudDecision(
            tx,
            score,
            champion.probability(score),
            flagged,
            threshold,
            champion.name,
            champion.version,
            challenger_score=challenger_score,
            challenger_name=self.models.challenger.name if self.models.challenger else "",
            challenger_version=self.models.challenger.version if self.models.challenger else 0,
            top_features=top,
            explanation_method=champion.explainer.method,
            examples_learned=champion.learned,
        )
        return decision, prediction

    def _remember(self, prediction: Prediction) -> None:
        evicted = self.join.add(prediction)
        if evicted and self.export:
            MODEL_PENDING_EVICTED.labels(SERVICE).inc(len(evicted))

    def _alert(self, decision: FraudDecision) -> list[Alert]:
        tx = decision.transaction
        critical = decision.probability >= self.settings.threshold.critical_above
        reasons = (
            f"rule {decision.rule}"
            if decision.rule
            else ", ".join(f"{item.name}={item.contribution:+.2f}" for item in decision.top_features)
        )
        explanation = f"p={decision.probability:.2f}" + (f"; {reasons}" if reasons else "")
        candidate = Alert(
            alert_id=stable_alert_id("fraud", tx.card_id, tx.transaction_id),
            kind="fraud",
            entity_id=tx.card_id,
            severity="critical" if critical else "warning",
            score=decision.score,
            threshold=decision.threshold,
            model_name=decision.model_name,
            model_version=decision.model_version,
            explanation=explanation,
            event_time=tx.event_time,
            created_at=max(tx.event_time, self._clock()),
            attributes={
                "transaction_id": tx.transaction_id,
                "probability": f"{decision.probability:.6f}",
                "amount": f"{tx.amount:.2f}",
                "merchant_id": tx.merchant_id,
                "channel": tx.channel,
            },
        )
        over_budget = self.gate.over_budget
        alert = self.gate.evaluate(candidate)
        if self.export and self.gate.over_budget > over_budget:
            ALERTS_SUPPRESSED.labels(SERVICE, "budget").inc()
        if alert is None:
            return []
        if self.export:
            ALERTS_EMITTED.labels(SERVICE, "fraud", alert.severity, tx.channel).inc()
        return [alert]

    # Labels ------------------------------------------------------------------------------------------

    def _after_resolution(self, resolution: Resolution) -> None:
        prediction = resolution.prediction
        if len(prediction.context) == 3:
            merchant, category, rule = prediction.context
            self.features.learn(merchant, category, resolution.label)
            if rule and prediction.decision:
                outcome = self.rule_outcomes.setdefault(rule, [0, 0])
                outcome[0] += int(resolution.label)
                outcome[1] += 1

    def _features(self, prediction: Prediction) -> dict[str, float] | None:
        if "champion" not in prediction.scores:
            return None  # decided by a rule: its chargeback is counted, but no model learns from it
        values = prediction.features
        return values if isinstance(values, dict) else dict(zip(FEATURE_NAMES, values, strict=True))

    # Housekeeping ------------------------------------------------------------------------------------

    def score_record(self, decision: FraudDecision, now: float) -> Score:
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
            attributes={**decision_attributes(decision), "channel": tx.channel},
        )

    # Checkpoint --------------------------------------------------------------------------------------

    def _own_state(self) -> dict[str, Any]:
        return {
            "features": self.features,
            "prefilter": self.prefilter.snapshot(),
            "model_scored": self.model_scored,
            "refunds_skipped": self.refunds_skipped,
            "rule_outcomes": {rule: list(counts) for rule, counts in self.rule_outcomes.items()},
        }

    def _restore_own(self, snapshot: dict[str, Any]) -> None:
        self.features = snapshot["features"]
        self.features.ttl_seconds = self.settings.card_state_ttl_seconds
        self.prefilter.restore(snapshot["prefilter"])
        self.model_scored = snapshot["model_scored"]
        self.refunds_skipped = snapshot["refunds_skipped"]
        self.rule_outcomes = {rule: list(counts) for rule, counts in snapshot["rule_outcomes"].items()}
