"""Alerts: what subscribers receive."""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

import msgspec

from streaming.schemas.base import EntityId, Event, EventTime
from streaming.state.stable import stable

#: Each service declares the kinds it emits (`Service.alert_kinds`); the contract only bounds the shape.
AlertKind = Annotated[str, msgspec.Meta(pattern="^[a-z][a-z0-9_-]{0,31}$")]
Severity = Literal["info", "warning", "critical"]
AlertStatus = Literal["firing", "resolved"]

SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}


def stable_alert_id(kind: str, entity_id: str, cause: str) -> str:
    """The same cause always gives the same id, so subscribers can deduplicate redeliveries.

    >>> stable_alert_id("fraud", "c-1", "t-9") == stable_alert_id("fraud", "c-1", "t-9")
    True
    """
    digest = hashlib.sha256(f"{kind}|{entity_id}|{cause}".encode()).hexdigest()
    return f"{kind}-{digest[:24]}"


@stable("contracts.alert/1")
class Alert(Event, kw_only=True, frozen=True):
    """A maintenance, fraud, drift, operational or churn alert.

    >>> a = Alert(alert_id=stable_alert_id("fraud", "c-1", "t-1"), kind="fraud", entity_id="c-1",
    ...     severity="critical", score=0.97, threshold=0.7, model_version=2, explanation="amount_ratio=14.2",
    ...     event_time=1.7e9, created_at=1.7e9 + 0.02)
    >>> a.status, a.entity_key()
    ('firing', 'c-1')
    """

    alert_id: EntityId
    kind: AlertKind
    entity_id: EntityId
    severity: Severity
    status: AlertStatus = "firing"
    score: float | None = None
    threshold: float | None = None
    model_name: str | None = None
    model_version: int | None = None
    explanation: str = ""
    event_time: EventTime
    created_at: EventTime
    attributes: dict[str, str] = {}

    def entity_key(self) -> str:
        return self.entity_id
