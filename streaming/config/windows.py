"""Settings of the sensor downsampler (event-time windows)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator


class WindowSettings(BaseModel):
    """Event-time windows that downsample the sensor stream."""

    window_type: Literal["tumbling", "hopping"] = "tumbling"
    window_size_seconds: float = Field(default=10.0, gt=0)
    window_step_seconds: float | None = Field(
        default=None, gt=0, description="Hop between window starts. Unset: equal to window_size (tumbling)."
    )
    allowed_lateness_seconds: float = Field(default=5.0, ge=0)
    idle_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Wall-clock silence after which a key's open windows are closed."
    )
    state_ttl_seconds: float = Field(
        default=600.0, gt=0, description="Wall-clock silence after which a key's state is evicted."
    )
    quantile: float = Field(default=0.95, gt=0, lt=1, description="The approximate high quantile reported.")
    quantile_relative_accuracy: float = Field(default=0.01, gt=0, lt=0.5)
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
        ]
    )
    group_id: str = "downsampler"

    @model_validator(mode="after")
    def _consistent(self) -> WindowSettings:
        step = self.window_step_seconds or self.window_size_seconds
        if step > self.window_size_seconds:
            raise ValueError("window_step_seconds larger than window_size_seconds would leave gaps")
        if self.state_ttl_seconds < self.idle_timeout_seconds:
            raise ValueError("state_ttl_seconds must be at least idle_timeout_seconds")
        return self
