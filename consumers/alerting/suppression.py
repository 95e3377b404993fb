"""Alert suppression: per-entity cooldown and deduplication in event time, escalation, resolution.

The scoring services turn every positive decision into a candidate alert; the policy decides which of them
subscribers see. A machine that stays bad for an hour produces one alert (plus a reminder per cooldown),
not one per window; a rise in severity is never held back; when the condition clears, one "resolved"
alert closes the incident.

All times are event times, so a replay of a recorded stream makes the same decisions as the live run.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import msgspec

from contracts import SEVERITY_RANK, Alert, stable_alert_id
from streaming.state.stable import stable

#: (kind, entity id): cooldown and incidents are tracked per kind, so a card's fraud alert and a drift
#: alert about the same id never hold each other back.
IncidentKey = tuple[str, str]


@stable("alerting.incident/1")
@dataclass
class Incident:
    """What the policy remembers about one firing (kind, entity)."""

    alert_id: str
    severity: str
    first_event_time: float
    last_emitted_event_time: float
    last_seen_event_time: float
    model_name: str | None
    model_version: int | None
    score: float | None
    threshold: float | None
    suppressed: int = 0


@stable("alerting.policy/1")
class AlertPolicy:
    """Decides which candidate alerts to emit: cooldown, dedupe, escalation and "resolved" alerts.

    Parameters
    ----------
    cooldown_seconds
        After an alert for (kind, entity), further alerts of the same or a lower severity are suppressed
        until this much event time has passed; then one reminder goes out.
    expiry_seconds
        An incident with no candidate for this long (in event time, behind the newest event seen) is
        forgotten, which bounds memory for kinds that never resolve (fraud). None keeps incidents until
        they are resolved.
    max_incidents
        Upper bound on incidents held; the least recently touched ones are forgotten first.
    max_remembered_ids
        How many emitted alert ids are remembered to drop exact duplicates (a re-scored event).
    clock
        Wall clock for the `created_at` of "resolved" alerts.

    Examples
    --------
    >>> from contracts import Alert, stable_alert_id
    >>> def candidate(window, severity, event_time):
    ...     return Alert(alert_id=stable_alert_id("maintenance", "m-1", window), kind="maintenance",
    ...         entity_id="m-1", severity=severity, score=0.9, threshold=0.5, model_version=1,
    ...         explanation="torque_mean=+2.1", event_time=event_time, created_at=event_time)
    >>> policy = AlertPolicy(cooldown_seconds=600, clock=lambda: 1.7e9 + 1000)
    >>> policy.evaluate(candidate("w1", "warning", 1.7e9)).severity      # first: emitted
    'warning'
    >>> policy.evaluate(candidate("w2", "warning", 1.7e9 + 60)) is None  # same severity, in cooldown
    True
    >>> policy.evaluate(candidate("w3", "critical", 1.7e9 + 120)).attributes["escalated_from"]
    'warning'
    >>> resolved = policy.resolve("maintenance", "m-1", 1.7e9 + 300, "torque back to normal")
    >>> resolved.status, resolved.severity
    ('resolved', 'critical')
    >>> policy.resolve("maintenance", "m-1", 1.7e9 + 360, "still fine") is None  # nothing firing
    True
    """

    def __init__(
        self,
        cooldown_seconds: float = 600.0,
        expiry_seconds: float | None = 86_400.0,
        max_incidents: int = 1_000_000,
        max_remembered_ids: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if cooldown_seconds < 0:
            raise ValueError(f"cooldown_seconds must be >= 0, not {cooldown_seconds}")
        if expiry_seconds is not None and expiry_seconds < cooldown_seconds:
            raise ValueError("expiry_seconds must be at least cooldown_seconds, or None")
        self.cooldown_seconds = cooldown_seconds
        self.expiry_seconds = expiry_seconds
        self.max_incidents = max_incidents
        self.max_remembered_ids = max_remembered_ids
        self.clock = clock
        self._incidents: OrderedDict[IncidentKey, Incident] = OrderedDict()
        self._emitted_ids: OrderedDict[str, None] = OrderedDict()
        self._newest_event_time = 0.0
        #: Candidates held back since start (or restore), by why: for the scoring services' metrics.
        self.suppressed: dict[str, int] = {"duplicate": 0, "cooldown": 0}

    def __len__(self) -> int:
        """Incidents currently firing."""
        return len(self._incidents)

    def is_firing(self, kind: str, entity_id: str) -> bool:
        return (kind, entity_id) in self._incidents

    def evaluate(self, candidate: Alert) -> Alert | None:
        """The alert to emit for this candidate, or None when it is suppressed."""
        if candidate.status != "firing":
            raise ValueError("evaluate() takes firing candidates; use resolve() to close an incident")
        self._advance(candidate.event_time)
        if candidate.alert_id in self._emitted_ids:
            self.suppressed["duplicate"] += 1
            return None
        key = (candidate.kind, candidate.entity_id)
        incident = self._incidents.get(key)
        if incident is None:
            return self._emit(key, candidate, None)
        incident.last_seen_event_time = max(incident.last_seen_event_time, candidate.event_time)
        self._incidents.move_to_end(key)
        if SEVERITY_RANK[candidate.severity] > SEVERITY_RANK[incident.severity]:
            escalated = msgspec.structs.replace(
                candidate,
                attributes={
                    **candidate.attributes,
                    "escalated_from": incident.severity,
                    "incident_id": incident.alert_id,
                },
            )
            return self._emit(key, escalated, incident)
        # Out-of-order candidates (older than the last alert) count as inside the cooldown.
        if candidate.event_time - incident.last_emitted_event_time < self.cooldown_seconds:
            incident.suppressed += 1
            self.suppressed["cooldown"] += 1
            return None
        reminder = msgspec.structs.replace(
            candidate,
            # A reminder keeps the incident's severity: a lower-severity window must not downgrade it.
            severity=incident.severity,
            attributes={
                **candidate.attributes,
                "reminder": "true",
                "incident_id": incident.alert_id,
                "suppressed_since_last": str(incident.suppressed),
            },
        )
        return self._emit(key, reminder, incident)

    def resolve(self, kind: str, entity_id: str, event_time: float, explanation: str) -> Alert | None:
        """A "resolved" alert when (kind, entity) was firing, else None. The incident is closed either way."""
        self._advance(event_time)
        incident = self._incidents.pop((kind, entity_id), None)
        if incident is None:
            return None
        alert_id = stable_alert_id(kind, entity_id, f"resolved:{incident.alert_id}")
        self._remember(alert_id)
        return Alert(
            alert_id=alert_id,
            kind=kind,
            entity_id=entity_id,
            # Same severity as the incident, so every subscriber that got the alert also gets its end.
            severity=incident.severity,  # type: ignore[arg-type]
            status="resolved",
            score=incident.score,
            threshold=incident.threshold,
            model_name=incident.model_name,
            model_version=incident.model_version,
            explanation=explanation,
            event_time=max(event_time, incident.first_event_time),
            created_at=self.clock(),
            attributes={
                "incident_id": incident.alert_id,
                "firing_seconds": f"{max(0.0, event_time - incident.first_event_time):.3f}",
            },
        )

    def snapshot(self) -> dict[str, Any]:
        """Plain, picklable state for the scoring service's checkpoint."""
        return {
            "version": 1,
            "incidents": [
                [kind, entity, asdict(incident)] for (kind, entity), incident in self._incidents.items()
            ],
            "emitted_ids": list(self._emitted_ids),
            "newest_event_time": self._newest_event_time,
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        if snapshot.get("version") != 1:
            raise ValueError(f"unknown AlertPolicy snapshot version: {snapshot.get('version')!r}")
        self._incidents = OrderedDict(
            ((kind, entity), Incident(**fields)) for kind, entity, fields in snapshot["incidents"]
        )
        self._emitted_ids = OrderedDict.fromkeys(snapshot["emitted_ids"])
        self._newest_event_time = float(snapshot["newest_event_time"])

    def _emit(self, key: IncidentKey, alert: Alert, previous: Incident | None) -> Alert:
        self._remember(alert.alert_id)
        self._incidents[key] = Incident(
            alert_id=previous.alert_id if previous is not None else alert.alert_id,
            severity=alert.severity,
            first_event_time=previous.first_event_time if previous is not None else alert.event_time,
            last_emitted_event_time=alert.event_time,
            last_seen_event_time=alert.event_time,
            model_name=alert.model_name,
            model_version=alert.model_version,
            score=alert.score,
            threshold=alert.threshold,
        )
        self._incidents.move_to_end(key)
        while len(self._incidents) > self.max_incidents:
            self._incidents.popitem(last=False)
        return alert

    def _remember(self, alert_id: str) -> None:
        self._emitted_ids[alert_id] = None
        while len(self._emitted_ids) > self.max_remembered_ids:
            self._emitted_ids.popitem(last=False)

    def _advance(self, event_time: float) -> None:
        if event_time <= self._newest_event_time:
            return
        self._newest_event_time = event_time
        if self.expiry_seconds is None:
            return
        horizon = event_time - self.expiry_seconds
        # Incidents are ordered by last touch, so the stale ones are at the front.
        while self._incidents:
            key, incident = next(iter(self._incidents.items()))
            if incident.last_seen_event_time >= horizon:
                break
            del self._incidents[key]
