"""The fraud prefilter: rules that decide obvious transactions without the model, each rule counted.

Rules run on the per-card features (they are cheap and the card state must be updated anyway); what they
save is the model: its scoring and, for skipped transactions, its learning.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from consumers.fraud.settings import FraudSettings
from consumers.learning.metrics import FRAUD_MODEL_SKIPPED, FRAUD_RULE_HITS
from streaming.state.stable import stable

__all__ = ["Prefilter", "RuleDecision"]

Action = Literal["skip", "block"]


@stable("fraud.rule-decision/1")
@dataclass(frozen=True, slots=True)
class RuleDecision:
    """What a rule decided: `skip` (obviously safe, score 0) or `block` (obviously bad, score 1)."""

    rule: str
    action: Action

    @property
    def score(self) -> float:
        return 1.0 if self.action == "block" else 0.0


@stable("fraud.prefilter/1")
class Prefilter:
    """Configurable rules, checked in order; the first that fires decides.

    - `block_amount`: amount above `block_amount_above`;
    - `impossible_travel`: implied speed since the card's last transaction above `block_speed_kmh_above`,
      at a place more than `block_distance_from_home_km` from the card's home (the payment back home after
      a fraudulent one abroad is not the impossible one);
    - `safe_small_habitual`: amount below `safe_amount_below` at a known merchant, on a device the card has
      used before, the same as last time, no travel, and not one of a burst (at most
      `safe_max_transactions_per_hour` in the hour before: card testing is a burst of tiny payments).

    Parameters
    ----------
    settings
        The `[fraud]` section: the rules' thresholds and whether they run.
    export
        Count hits in Prometheus.

    >>> prefilter = Prefilter(FraudSettings(safe_amount_below=5.0, block_amount_above=5_000.0))
    >>> usual = {"amount": 30.0, "speed_kmh": 0.0, "new_merchant": 0.0, "device_change": 0.0,
    ...          "new_device": 0.0, "tx_count_1h": 0.0, "distance_from_home_km": 2.0}
    >>> prefilter.decide({**usual, "amount": 9_000.0})
    RuleDecision(rule='block_amount', action='block')
    >>> prefilter.decide({**usual, "amount": 3.0})
    RuleDecision(rule='safe_small_habitual', action='skip')
    >>> prefilter.decide({**usual, "amount": 3.0, "tx_count_1h": 6.0}) is None   # a burst: not safe
    True
    >>> prefilter.decide(usual) is None
    True
    >>> dict(prefilter.hits), prefilter.checked
    ({'block_amount': 1, 'safe_small_habitual': 1}, 4)
    """

    def __init__(self, settings: FraudSettings, export: bool = True) -> None:
        self.enabled = settings.prefilter_enabled
        self.safe_amount_below = settings.safe_amount_below
        self.block_amount_above = settings.block_amount_above
        self.block_speed_kmh_above = settings.block_speed_kmh_above
        self.block_distance_from_home_km = settings.block_distance_from_home_km
        self.safe_max_transactions_per_hour = settings.safe_max_transactions_per_hour
        self.export = export
        self.hits: Counter[str] = Counter()
        self.checked = 0

    def decide(self, features: dict[str, float]) -> RuleDecision | None:
        if not self.enabled:
            return None
        self.checked += 1
        decision = self._first_rule(features)
        if decision is not None:
            self.hits[decision.rule] += 1
            if self.export:
                FRAUD_RULE_HITS.labels(decision.rule).inc()
                FRAUD_MODEL_SKIPPED.labels(decision.rule).inc()
        return decision

    def _first_rule(self, features: dict[str, float]) -> RuleDecision | None:
        amount = features["amount"]
        if amount > self.block_amount_above:
            return RuleDecision("block_amount", "block")
        if (
            features["speed_kmh"] > self.block_speed_kmh_above
            and features.get("distance_from_home_km", math.inf) > self.block_distance_from_home_km
        ):
            return RuleDecision("impossible_travel", "block")
        if (
            amount < self.safe_amount_below
            and features["new_merchant"] == 0.0
            and features["device_change"] == 0.0
            and features.get("new_device", 0.0) == 0.0
            and features.get("tx_count_1h", 0.0) <= self.safe_max_transactions_per_hour
            and features["speed_kmh"] < 100.0
        ):
            return RuleDecision("safe_small_habitual", "skip")
        return None

    @property
    def skipped_share(self) -> float:
        """The share of checked transactions the model did not have to score."""
        return sum(self.hits.values()) / self.checked if self.checked else 0.0

    def snapshot(self) -> dict:
        return {"hits": dict(self.hits), "checked": self.checked}

    def restore(self, snapshot: dict) -> None:
        self.hits = Counter(snapshot["hits"])
        self.checked = int(snapshot["checked"])
