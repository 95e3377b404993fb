"""Settings of the simulated producers."""

from __future__ import annotations

from pydantic import BaseModel, Field

from producers.customers import CustomerLifecycleSettings


class ProducerSettings(BaseModel):
    """Defaults for `streaming produce`; every one can be overridden on the command line."""

    seed: int = Field(
        default=42,
        description="Random seed of the simulation; the same seed and options give the same events.",
    )
    machines: int = Field(default=300, description="Number of simulated machines (sensor fleet size).")
    reading_interval_seconds: float = Field(default=1.0, gt=0, description="Event-time gap per machine.")
    readings_per_record: int = Field(default=10, ge=1, description="Readings of one machine per record.")
    failure_rate_per_machine_day: float = Field(
        default=0.5, ge=0, description="Mean failures per machine per event-time day."
    )
    degradation_seconds: float = Field(
        default=1_800.0,
        gt=0,
        description="Mean event time from the first sign of degradation to the failure.",
    )
    repair_seconds: float = Field(default=900.0, ge=0, description="Event time a failed machine is down.")
    cards: int = Field(default=5_000, description="Number of simulated payment cards.")
    merchants: int = Field(default=500, description="Number of simulated merchants.")
    transactions_per_card_day: float = Field(default=3.0, gt=0, description="Mean legitimate spending rate.")
    customers: CustomerLifecycleSettings = Field(
        default_factory=CustomerLifecycleSettings,
        description="How the payment simulation's customers arrive, decline, churn and come back.",
    )
    fraud_rate: float = Field(default=0.002, ge=0, le=1, description="Share of payments that are fraudulent.")
    chargeback_delay_seconds: float = Field(default=3_600.0, ge=0, description="Event-time delay of labels.")
    chargeback_delay_jitter: float = Field(
        default=0.5, ge=0, lt=1, description="Delays are uniform in delay * [1 - jitter, 1 + jitter]."
    )
    speedup: float = Field(
        default=1.0,
        gt=0,
        description="Event time runs this many times faster than wall time (when not rate-limited).",
    )
    out_of_order_fraction: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of records sent slightly out of order (see out_of_order_delay_seconds).",
    )
    out_of_order_delay_seconds: float = Field(
        default=3.0, gt=0, description="Out-of-order records are held back up to this much event time."
    )
    late_fraction: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of records held back past the allowed lateness (see late_delay_seconds).",
    )
    late_delay_seconds: float = Field(
        default=120.0, gt=0, description="Late records are held back 1-2x this much event time."
    )
    duplicate_fraction: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of records sent twice with the same key, value and timestamp.",
    )
    bad_fraction: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Extra malformed records, as a share of records, to exercise dead-lettering.",
    )
