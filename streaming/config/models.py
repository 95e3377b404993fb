"""Settings of the online-learning services (predictive maintenance and fraud)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class ModelSettings(BaseModel):
    """What the model factory builds."""

    model: Literal["logistic", "hoeffding", "arf"] = "logistic"
    imbalance: Literal["none", "under", "over", "weight", "under+weight"] = "under"
    positive_weight: float = Field(default=5.0, gt=0)
    desired_positive_share: float = Field(default=0.5, gt=0, lt=1, description="Target share after sampling.")
    learning_rate: float = Field(default=0.05, gt=0)
    arf_models: int = Field(default=3, ge=1)
    seed: int = 42


class ThresholdSettings(BaseModel):
    """How a score (a probability on the real stream, after prior correction) becomes a decision."""

    mode: Literal["fixed", "precision", "budget"] = "budget"
    value: float = Field(
        default=0.5, ge=0, le=1, description="Fixed threshold; start value and floor of the adaptive modes."
    )
    target_precision: float = Field(default=0.8, gt=0, le=1)
    alerts_per_hour: float = Field(
        default=10.0,
        gt=0,
        description="Budget mode's target, and in every mode the most new incidents per hour of event time.",
    )
    critical_above: float = Field(
        default=0.9, ge=0, le=1, description="Scores at or above this (and the threshold) alert as critical."
    )


class MaintenanceSettings(BaseModel):
    group_id: str = "maintenance"
    horizon_seconds: float = Field(default=3_600.0, gt=0, description="Predict failure within this horizon.")
    history_windows: int = Field(default=6, ge=1)
    champion: ModelSettings = Field(default_factory=ModelSettings)
    challenger: ModelSettings | None = Field(
        default_factory=lambda: ModelSettings(model="hoeffding", imbalance="under")
    )
    threshold: ThresholdSettings = Field(default_factory=lambda: ThresholdSettings(alerts_per_hour=6.0))
    resolve_after_windows: int = Field(
        default=3, ge=1, description="Consecutive windows below the threshold before an incident resolves."
    )
    anomaly_trees: int = 10
    anomaly_height: int = 8
    anomaly_window_size: int = 250
    label_grace_seconds: float = Field(
        default=600.0,
        ge=0,
        description="How late failure labels may arrive; windows wait H + this to be negative.",
    )
    anomaly_threshold: float = Field(
        default=0.9, ge=0, le=1, description="Decides on the anomaly score until a failure has been learned."
    )
    pending_limit: int = Field(default=200_000, description="Predictions awaiting a label, at most.")
    checkpoint_interval_seconds: float = 30.0
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
    group_id: str = "fraud"
    label_horizon_seconds: float = Field(
        default=7_200.0, gt=0, description="Event time after which an unlabelled transaction learns as legit."
    )
    champion: ModelSettings = Field(
        default_factory=lambda: ModelSettings(model="logistic", imbalance="under+weight")
    )
    challenger: ModelSettings | None = Field(
        default_factory=lambda: ModelSettings(model="hoeffding", imbalance="under")
    )
    threshold: ThresholdSettings = Field(default_factory=lambda: ThresholdSettings(alerts_per_hour=20.0))
    prefilter_enabled: bool = True
    safe_amount_below: float = Field(default=5.0, description="Small habitual purchases skip the model.")
    block_amount_above: float = Field(default=10_000.0, description="Flagged without the model.")
    block_speed_kmh_above: float = Field(default=1_000.0, description="Impossible travel.")
    pending_limit: int = 500_000
    card_state_ttl_seconds: float = Field(default=30 * 86_400.0, description="Event time.")
    checkpoint_interval_seconds: float = 30.0
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
