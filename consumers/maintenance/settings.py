"""Settings of the maintenance scorer: `[maintenance]`."""

from __future__ import annotations

from pydantic import Field

from consumers.learning.settings import ModelSettings, ScorerSettings, ThresholdSettings

#: The signals behind the failure modes (heat dissipation, power, overstrain, tool wear), whose pairwise
#: interactions the additive model learns: e.g. a small temperature difference matters at low speed.
PHYSICS_SIGNALS: tuple[str, ...] = (
    "temperature_difference_k",
    "rotational_speed_rpm_mean",
    "power_w",
    "wear_torque",
    "tool_wear_min_mean",
    "torque_nm_mean",
)
PHYSICS_PAIRS: tuple[tuple[str, str], ...] = tuple(
    (first, second) for index, first in enumerate(PHYSICS_SIGNALS) for second in PHYSICS_SIGNALS[index + 1 :]
)


class MaintenanceSettings(ScorerSettings):
    group_id: str = Field(
        default="maintenance",
        description="Consumer group of the maintenance scorer (prefixed with topics.prefix).",
    )
    horizon_seconds: float = Field(
        default=1_800.0,
        gt=0,
        description="Predict failure within this horizon, in seconds; about as long as failures show ahead.",
    )
    history_windows: int = Field(
        default=200,
        ge=1,
        description="Span of each machine's running baseline (features are deviations from it), in windows.",
    )
    champion: ModelSettings = Field(
        default_factory=lambda: ModelSettings(
            model="blend",
            imbalance="none",
            amf_trees=1,
            pairs=list(PHYSICS_PAIRS),
        ),
        description="The model whose scores decide alerts.",
    )
    challenger: ModelSettings | None = Field(
        default_factory=lambda: ModelSettings(model="logistic", imbalance="weight"),
        description="A model trained alongside for comparison; null for none.",
    )
    threshold: ThresholdSettings = Field(
        default_factory=lambda: ThresholdSettings(alerts_per_hour=6.0),
        description="How a score becomes an alert.",
    )
    resolve_after_windows: int = Field(
        default=3, ge=1, description="Consecutive windows below the threshold before an incident resolves."
    )
    anomaly_trees: int = Field(default=5, ge=1, description="Trees of the Half-Space Trees anomaly detector.")
    anomaly_height: int = Field(default=6, ge=1, description="Depth of each anomaly-detector tree.")
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
