"""What reaches subscribers: the alert policy (cooldown, dedupe, escalation) and then the hourly budget.

New incidents and reminders spend the budget; an escalation of an incident subscribers already know about
never waits for it (there are only two severities, so at most one per incident).
"""

from __future__ import annotations

from consumers.alerting.suppression import AlertPolicy
from consumers.learning.thresholds import AlertBudget
from contracts import Alert

__all__ = ["AlertGate"]


class AlertGate:
    """`policy.evaluate`, then `budget`: the alert to emit, or None.

    >>> from contracts import stable_alert_id
    >>> gate = AlertGate(AlertPolicy(cooldown_seconds=600), AlertBudget(alerts_per_hour=1))
    >>> def candidate(card, time):
    ...     return Alert(alert_id=stable_alert_id("fraud", card, str(time)), kind="fraud", entity_id=card,
    ...                  severity="warning", event_time=time, created_at=time)
    >>> [gate.evaluate(candidate(card, t)) is not None for card, t in [("c-1", 0.0), ("c-2", 10.0)]]
    [True, False]
    >>> gate.over_budget
    1
    """

    def __init__(self, policy: AlertPolicy, budget: AlertBudget) -> None:
        self.policy = policy
        self.budget = budget
        self.over_budget = 0

    def evaluate(self, candidate: Alert) -> Alert | None:
        if not self.policy.is_firing(candidate.kind, candidate.entity_id) and not self.budget.allows(
            candidate.event_time
        ):
            # Not even shown to the policy: a later candidate may still open the incident.
            self.over_budget += 1
            self.budget.refused += 1
            return None
        alert = self.policy.evaluate(candidate)
        if alert is None or "escalated_from" in alert.attributes:
            return alert
        if not self.budget.take(candidate.event_time):
            # A reminder over budget: the incident is open and known; the next reminder comes a cooldown on.
            self.over_budget += 1
            return None
        return alert
