"""Settings of the online-learning services (predictive maintenance and fraud)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class ModelSettings(BaseModel):
    """What the model factory builds."""

    model: Literal["logistic", "hoeffding", "arf"] = Field(
        default="logistic",
        description="Classifier: logistic (regression), hoeffding (tree) or arf (adaptive random forest).",
    )
    imbalance: Literal["none", "under", "over", "weight", "under+weight"] = Field(
        default="under",
        description="Rare-positive handling: none, under- or oversampling, positive weight, or under+weight.",
    )
    positive_weight: float = Field(
        default=5.0,
        gt=0,
        description="Weight of a positive when imbalance has weight; trees learn it round(weight) times.",
    )
    desired_positive_share: float = Field(default=0.5, gt=0, lt=1, description="Target share after sampling.")
    learning_rate: float = Field(
        default=0.05, gt=0, description="SGD learning rate of the logistic model; trees ignore it."
    )
    arf_models: int = Field(default=3, ge=1, description="Trees in the adaptive random forest; arf only.")
    seed: int = Field(
        default=42, description="Seed of the samplers and the forest, so a replay builds the same model."
    )


class ThresholdSettings(BaseModel):
    """How a score (a probability on the real stream, after prior correction) becomes a decision."""

    mode: Literal["fixed", "precision", "budget"] = Field(
        default="budget",
        description="fixed: use value; precision: aim at target_precision; budget: aim at alerts_per_hour.",
    )
    value: float = Field(
        default=0.5, ge=0, le=1, description="Fixed threshold; start value and floor of the adaptive modes."
    )
    target_precision: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Precision mode: lowest threshold whose precision on recent labels reaches this.",
    )
    alerts_per_hour: float = Field(
        default=10.0,
        gt=0,
        description="Budget mode's target, and in every mode the most new incidents per hour of event time.",
    )
    critical_above: float = Field(
        default=0.9, ge=0, le=1, description="Scores at or above this (and the threshold) alert as critical."
    )


class MaintenanceSettings(BaseModel):
    group_id: str = Field(
        default="maintenance",
        description="Consumer group of the maintenance scorer (prefixed with topics.prefix).",
    )
    horizon_seconds: float = Field(default=3_600.0, gt=0, description="Predict failure within this horizon.")
    history_windows: int = Field(
        default=6,
        ge=1,
        description="Past windows of the same machine whose values feed each window's features.",
    )
    champion: ModelSettings = Field(
        default_factory=ModelSettings, description="The model whose scores decide alerts."
    )
    challenger: ModelSettings | None = Field(
        default_factory=lambda: ModelSettings(model="hoeffding", imbalance="under"),
        description="A model trained alongside for comparison; null for none.",
    )
    threshold: ThresholdSettings = Field(
        default_factory=lambda: ThresholdSettings(alerts_per_hour=6.0),
        description="How a score becomes an alert.",
    )
    resolve_after_windows: int = Field(
        default=3, ge=1, description="Consecutive windows below the threshold before an incident resolves."
    )
    anomaly_trees: int = Field(default=10, description="Trees of the Half-Space Trees anomaly detector.")
    anomaly_height: int = Field(default=8, description="Depth of each anomaly-detector tree.")
    anomaly_window_size: int = Field(
        default=250, description="Windows per reference window of the anomaly detector."
    )
    label_grace_seconds: float = Field(
        default=600.0,
        ge=0,
        description="How late failure labels may arrive; windows wait H + this to be negative.",
    )
    anomaly_threshold: float = Field(
        default=0.9, ge=0, le=1, description="Decides on the anomaly score until a failure has been learned."
    )
    pending_limit: int = Field(default=200_000, description="Predictions awaiting a label, at most.")
    checkpoint_interval_seconds: float = Field(
        default=30.0, description="How often model state is checkpointed to disk, in wall seconds."
    )
    monitor_window: int = Field(default=1_000, ge=10, description="Labelled events in the rolling metrics.")
    drift_grace: int = Field(default=500, ge=0, description="Labels before drift detection starts.")
    top_features: int = Field(default=3, ge=0, description="Top contributing features on each score.")
    emit_challenger_scores: bool = Field(
        default=False, description="Also write challenger scores to `scores`."
    )
    label_buffer_limit: int = Field(
        default=100_000, ge=1, description="Labels waiting for their reported time."
    )
    checkpoint_dir: Path | None = Field(
        default=None, description="Default: <processing.state_dir>/<group_id>."
    )


class FraudSettings(BaseModel):
    group_id: str = Field(
        default="fraud", description="Consumer group of the fraud scorer (prefixed with topics.prefix)."
    )
    label_horizon_seconds: float = Field(
        default=7_200.0, gt=0, description="Event time after which an unlabelled transaction learns as legit."
    )
    champion: ModelSettings = Field(
        default_factory=lambda: ModelSettings(model="logistic", imbalance="under+weight"),
        description="The model whose scores decide alerts.",
    )
    challenger: ModelSettings | None = Field(
        default_factory=lambda: ModelSettings(model="hoeffding", imbalance="under"),
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
    pending_limit: int = Field(
        default=500_000,
        description="Transactions awaiting a label, at most; the oldest are dropped unlearned.",
    )
    card_state_ttl_seconds: float = Field(
        default=30 * 86_400.0,
        description="Forget a card after this much event time without a payment, in seconds.",
    )
    checkpoint_interval_seconds: float = Field(
        default=30.0, description="How often model state is checkpointed to disk, in wall seconds."
    )
    monitor_window: int = Field(default=1_000, ge=10, description="Labelled events in the rolling metrics.")
    drift_grace: int = Field(default=500, ge=0, description="Labels before drift detection starts.")
    top_features: int = Field(default=3, ge=0, description="Top contributing features on each score.")
    emit_challenger_scores: bool = Field(
        default=False, description="Also write challenger scores to `scores`."
    )
    label_buffer_limit: int = Field(
        default=100_000, ge=1, description="Labels waiting for their reported time."
    )
    checkpoint_dir: Path | None = Field(
        default=None, description="Default: <processing.state_dir>/<group_id>."
    )
