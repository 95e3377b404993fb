"""Settings every online scorer shares: the model it builds and how a score becomes an alert."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from streaming.state.stable import stable

#: The strategies `streaming evaluate` compares when --strategies is not given.
DEFAULT_STRATEGIES: tuple[str, ...] = ("default", "plain", "weighted", "under", "additive", "blend2")


@stable("learning.model-settings/1")
class ModelSettings(BaseModel):
    """What the model factory builds (see `consumers.learning.models`)."""

    model: Literal["logistic", "additive", "hoeffding", "arf", "amf", "blend"] = Field(
        default="logistic",
        description="Classifier: logistic (regression), additive (logistic regression on bins of each "
        "feature and cells of feature pairs), hoeffding (tree), arf (adaptive random forest), amf "
        "(aggregated Mondrian forest), or blend (additive and amf, log-odds averaged).",
    )
    imbalance: Literal["none", "under", "over", "weight", "under+weight"] = Field(
        default="weight",
        description="Rare-positive handling: none, under- or oversampling, positive weight, or under+weight.",
    )
    positive_weight: float = Field(
        default=5.0,
        gt=0,
        description="Weight of a positive when imbalance has weight; trees learn it round(weight) times.",
    )
    desired_positive_share: float = Field(default=0.5, gt=0, lt=1, description="Target share after sampling.")
    learning_rate: float = Field(
        default=0.05, gt=0, description="SGD learning rate of the logistic model; others ignore it."
    )
    additive_learning_rate: float = Field(
        default=0.3, gt=0, description="FTRL-Proximal alpha of the additive model (and the blend's)."
    )
    arf_models: int = Field(default=3, ge=1, description="Trees in the adaptive random forest; arf only.")
    amf_trees: int = Field(default=2, ge=1, description="Trees in the Mondrian forest; amf and blend.")
    bin_width: float = Field(
        default=0.5, gt=0, description="Bin width of the additive model, in standard deviations."
    )
    pairs: list[tuple[str, str]] = Field(
        default_factory=list,
        description="Feature pairs whose joint cell the additive model learns (its interactions).",
    )
    forest_features: list[str] = Field(
        default_factory=list,
        description="Features the Mondrian forest of a blend sees (its cost grows with them); empty: all.",
    )
    seed: int = Field(
        default=42,
        description="Seed of the samplers and forests: the same input always builds the same model.",
    )


@stable("learning.threshold-settings/1")
class ThresholdSettings(BaseModel):
    """How a score becomes a decision. Thresholds apply to the model's score (it ranks events); severity to
    its calibrated probability."""

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
        default=0.9,
        ge=0,
        le=1,
        description="Alerts whose calibrated probability is at least this are critical; the others warnings.",
    )


class ScorerSettings(BaseModel):
    """What every online scorer's section shares (see `[fraud]`, `[maintenance]`)."""

    group_id: str = Field(
        default="scorer", description="Consumer group of the scorer (prefixed with topics.prefix)."
    )
    champion: ModelSettings = Field(
        default_factory=ModelSettings, description="The model whose scores decide alerts."
    )
    challenger: ModelSettings | None = Field(
        default=None, description="A model trained alongside for comparison; null for none."
    )
    threshold: ThresholdSettings = Field(
        default_factory=ThresholdSettings, description="How a score becomes an alert."
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
