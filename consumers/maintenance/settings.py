"""Settings of the maintenance scorer: `[maintenance]`."""

from __future__ import annotations

from pydantic import Field

from consumers.learning.settings import ModelSettings, ScorerSettings, ThresholdSettings


class MaintenanceSettings(ScorerSettings):
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
