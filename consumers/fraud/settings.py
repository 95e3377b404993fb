"""Settings of the fraud scorer: `[fraud]`."""

from __future__ import annotations

from pydantic import Field

from consumers.learning.settings import ModelSettings, ScorerSettings, ThresholdSettings


class FraudSettings(ScorerSettings):
    group_id: str = Field(
        default="fraud", description="Consumer group of the fraud scorer (prefixed with topics.prefix)."
    )
    label_horizon_seconds: float = Field(
        default=7_200.0, gt=0, description="Event time after which an unlabelled transaction learns as legit."
    )
    champion: ModelSettings = Field(
        default_factory=lambda: ModelSettings(model="additive", imbalance="weight", positive_weight=2.0),
        description="The model whose scores decide alerts.",
    )
    challenger: ModelSettings | None = Field(
        default_factory=lambda: ModelSettings(model="logistic", imbalance="weight"),
        description="A model trained alongside for comparison; null for none.",
    )
    threshold: ThresholdSettings = Field(
        default_factory=lambda: ThresholdSettings(alerts_per_hour=20.0),
        description="How a score becomes an alert.",
    )
    prefilter_enabled: bool = Field(
        default=True, description="Apply the block and safe-purchase rules before the model."
    )
    safe_amount_below: float = Field(
        default=5.0,
        description="Smaller amounts at a known merchant, same device, no travel, skip the model.",
    )
    block_amount_above: float = Field(
        default=10_000.0, description="Amounts above this are blocked by rule, without the model."
    )
    block_speed_kmh_above: float = Field(
        default=1_000.0,
        description="Implied travel speed since the last payment above this blocks by rule, in km/h.",
    )
    block_distance_from_home_km: float = Field(
        default=500.0,
        ge=0,
        description="The travel rule blocks only payments at least this far from the card's home, in km.",
    )
    safe_max_transactions_per_hour: int = Field(
        default=2,
        ge=0,
        description="The safe-purchase rule skips a payment only after at most this many in the hour.",
    )
    pending_limit: int = Field(
        default=500_000,
        description="Transactions awaiting a label, at most; the oldest are dropped unlearned.",
    )
    card_state_ttl_seconds: float = Field(
        default=30 * 86_400.0,
        description="Forget a card after this much event time without a payment, in seconds.",
    )
