"""Which alerts a subscriber wants: kinds, a minimum severity, and optionally a set of entities."""

from __future__ import annotations

from collections.abc import Iterable

from consumers.alerting.settings import SubscriberSettings
from contracts import SEVERITY_RANK, Alert


class SubscriberFilter:
    """Accepts an alert when its kind, severity and entity all match.

    >>> from contracts import Alert
    >>> only_critical_fraud = SubscriberFilter(kinds=["fraud"], min_severity="critical")
    >>> alert = Alert(alert_id="a", kind="fraud", entity_id="c-1", severity="warning", event_time=1.7e9,
    ...     created_at=1.7e9)
    >>> only_critical_fraud.reason_to_skip(alert)
    'severity warning < critical'
    """

    def __init__(
        self,
        kinds: Iterable[str] | None = None,
        min_severity: str = "info",
        entities: Iterable[str] | None = None,
    ) -> None:
        if min_severity not in SEVERITY_RANK:
            raise ValueError(f"unknown severity {min_severity!r}; one of {sorted(SEVERITY_RANK)}")
        self.kinds = frozenset(kinds) if kinds is not None else None
        self.min_severity = min_severity
        self.entities = frozenset(entities) if entities is not None else None

    @classmethod
    def from_settings(cls, subscriber: SubscriberSettings) -> SubscriberFilter:
        return cls(kinds=subscriber.kinds, min_severity=subscriber.min_severity, entities=subscriber.entities)

    def reason_to_skip(self, alert: Alert) -> str | None:
        """None when the subscriber wants the alert, else why not."""
        if self.kinds is not None and alert.kind not in self.kinds:
            return f"kind {alert.kind} not subscribed"
        if SEVERITY_RANK[alert.severity] < SEVERITY_RANK[self.min_severity]:
            return f"severity {alert.severity} < {self.min_severity}"
        if self.entities is not None and alert.entity_id not in self.entities:
            return "entity not subscribed"
        return None

    def accepts(self, alert: Alert) -> bool:
        return self.reason_to_skip(alert) is None
