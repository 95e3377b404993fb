"""Settings of alert suppression and delivery.

Subscribers are declared as an array of tables in the TOML file:

    [[alerts.subscribers]]
    name = "ops-webhook"
    sink = "webhook"
    url = "http://127.0.0.1:9110/alerts"
    secrets = ["current-secret", "previous-secret"]
    kinds = ["maintenance", "fraud"]
    min_severity = "warning"

or, as JSON, in `STREAMING_ALERTS__SUBSCRIBERS`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from contracts.alert import AlertKind, Severity


class SubscriberSettings(BaseModel):
    """One alert subscriber and what it wants to receive."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Also the metrics label value.")
    sink: str = Field(
        default="webhook",
        pattern=r"^[a-z][a-z0-9_-]{0,31}$",
        description="webhook (signed HTTP POST), slack, jsonl (appends to path), console, or one registered.",
    )
    url: str | None = Field(default=None, description="Target URL; required by webhook and slack sinks.")
    path: Path | None = Field(default=None, description="File the jsonl sink appends to; required by it.")
    secrets: list[str] = Field(default_factory=list, description="Signing secrets; each one signs.")
    allow_unsigned: bool = Field(default=False, description="Let a webhook subscriber have no secret.")
    kinds: list[AlertKind] | None = Field(
        default=None,
        description="Alert kinds this subscriber receives (those the services declare); null for every kind.",
    )
    min_severity: Severity = Field(
        default="info", description="Lowest severity delivered to this subscriber."
    )
    entities: list[str] | None = Field(default=None, description="Only alerts about these entity ids.")
    timeout_seconds: float = Field(
        default=5.0, gt=0, description="HTTP timeout of one delivery attempt, in seconds."
    )
    queue_size: int = Field(default=10_000, ge=1, description="Alerts buffered for this subscriber.")
    options: dict[str, str] = Field(
        default_factory=dict, description="Settings of a registered sink, passed to its factory as they are."
    )


class AlertSettings(BaseModel):
    """Alert suppression and delivery: `[alerts]`."""

    group_id: str = Field(
        default="alert-dispatcher",
        description="Consumer group of the alert dispatcher (prefixed with topics.prefix).",
    )
    cooldown_seconds: float = Field(default=600.0, ge=0, description="Per entity and kind, in event time.")
    max_attempts: int | None = Field(
        default=None,
        ge=1,
        description="Most delivery attempts per alert and subscriber; null (default): only time limits them.",
    )
    max_retry_seconds: float = Field(
        default=86_400.0,
        gt=0,
        description="How long an alert is retried (and kept parked while its subscriber is down), in s.",
    )
    breaker_failures: int = Field(
        default=5,
        ge=1,
        description="Consecutive failed attempts that open a subscriber's circuit breaker.",
    )
    breaker_max_probe_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Cap of the wait between probes of a subscriber whose breaker is open, in s.",
    )
    parked_in_memory: int = Field(
        default=100_000,
        ge=1,
        description="Parked alerts a worker keeps for re-delivery on recovery; older ones need a redrive.",
    )
    initial_backoff_seconds: float = Field(
        default=0.2,
        gt=0,
        description="Backoff ceiling after the first failure, in s; doubles per attempt, full jitter.",
    )
    max_backoff_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Cap of the backoff ceiling, in seconds; a receiver's Retry-After wins.",
    )
    timestamp_tolerance_seconds: float = Field(
        default=300.0,
        gt=0,
        description="`streaming alerts receive` rejects signatures this far from now, in seconds.",
    )
    receiver_port: int = Field(default=9110, description="Port of `streaming alerts receive`.")
    subscribers: list[SubscriberSettings] = Field(
        default_factory=list,
        description="Where alerts go: [[alerts.subscribers]] tables, or a JSON list in the variable.",
    )

    @field_validator("subscribers")
    @classmethod
    def _unique_names(cls, subscribers: list[SubscriberSettings]) -> list[SubscriberSettings]:
        names = [subscriber.name for subscriber in subscribers]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"subscriber names must be unique; repeated: {duplicates}")
        return subscribers

    def subscriber(self, name: str) -> SubscriberSettings:
        for subscriber in self.subscribers:
            if subscriber.name == name:
                return subscriber
        known = ", ".join(subscriber.name for subscriber in self.subscribers) or "none configured"
        raise KeyError(f"no subscriber named {name!r} ({known})")
