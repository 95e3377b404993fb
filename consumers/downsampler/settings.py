"""Settings of the sensor downsampler (event-time windows): `[windows]`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator


class WindowSettings(BaseModel):
    """Event-time windows that downsample the sensor stream."""

    window_type: Literal["tumbling", "hopping"] = Field(
        default="tumbling",
        description="tumbling: back-to-back windows (step = size); hopping: a new window every window_step.",
    )
    window_size_seconds: float = Field(
        default=10.0, gt=0, description="Length of each event-time window, in seconds."
    )
    window_step_seconds: float | None = Field(
        default=None, gt=0, description="Hop between window starts. Unset: equal to window_size (tumbling)."
    )
    allowed_lateness_seconds: float = Field(
        default=5.0,
        ge=0,
        description="Watermark lag behind the latest event time, in s; later readings go to late_events.",
    )
    max_ahead_seconds: float | None = Field(
        default=3_600.0,
        gt=0,
        description="Readings further ahead of their partition's latest event time are dead letters, in s.",
    )
    max_ahead_of_clock_seconds: float | None = Field(
        default=None,
        gt=0,
        description="Readings further ahead of the wall clock are dead letters, in s (null: off).",
    )
    idle_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Wall-clock silence after which a key's open windows are closed."
    )
    state_ttl_seconds: float = Field(
        default=600.0, gt=0, description="Wall-clock silence after which a key's state is evicted."
    )
    aggregations: list[str] = Field(
        default_factory=lambda: ["count", "mean", "min", "max", "std", "first", "last", "slope", "p95"],
        description="Statistics per field and window: count mean min max std first last slope, pNN.",
    )
    quantile_relative_accuracy: float = Field(
        default=0.01,
        gt=0,
        lt=0.5,
        description="Relative error of the quantile sketch used above exact_quantile_samples.",
    )
    exact_quantile_samples: int = Field(
        default=256, ge=0, description="Windows with at most this many readings get an exact quantile."
    )
    fields: list[str] = Field(
        default_factory=lambda: [
            "air_temperature_k",
            "process_temperature_k",
            "rotational_speed_rpm",
            "torque_nm",
            "vibration_mm_s",
            "tool_wear_min",
        ],
        description="Sensor columns aggregated in each window.",
    )
    group_id: str = Field(
        default="downsampler", description="Consumer group of the downsampler (prefixed with topics.prefix)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> WindowSettings:
        if self.window_type == "hopping" and self.window_step_seconds is None:
            raise ValueError("hopping windows need window_step_seconds")
        step = self.step_seconds()
        if step > self.window_size_seconds:
            raise ValueError("window_step_seconds larger than window_size_seconds would leave gaps")
        if self.state_ttl_seconds < self.idle_timeout_seconds:
            raise ValueError("state_ttl_seconds must be at least idle_timeout_seconds")
        from streaming.windows import aggregations_named

        aggregations_named(self.aggregations)  # refuses unknown names now, not at the first window
        return self

    def step_seconds(self) -> float:
        """The hop between window starts: the size for tumbling windows."""
        if self.window_type == "tumbling":
            return self.window_size_seconds
        return self.window_step_seconds or self.window_size_seconds
