"""Settings of the stream-processing core and of the metrics endpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class ProcessingSettings(BaseModel):
    """The consume loop shared by every consumer."""

    processing_guarantee: Literal["exactly-once", "at-least-once"] = "exactly-once"
    max_poll_records: int = 5_000
    max_poll_interval_ms: int = 300_000
    poll_timeout_ms: int = 100
    fetch_max_wait_ms: int = 50
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 2_000
    commit_interval_ms: int = Field(default=200, description="Longest time between transaction commits.")
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    state_dir: Path = Field(default=Path(".streaming/state"), description="Local checkpoints of models.")
    lag_refresh_seconds: float = 5.0


class MetricsSettings(BaseModel):
    """Prometheus /metrics endpoints, one per service."""

    address: str = "127.0.0.1"
    enabled: bool = True
    producer_sensors_port: int = 9101
    producer_transactions_port: int = 9102
    downsampler_port: int = 9103
    maintenance_port: int = 9104
    fraud_port: int = 9105
    alerts_port: int = 9106

    def port_for(self, service: str) -> int:
        return int(getattr(self, f"{service.replace('-', '_')}_port"))


class LoggingSettings(BaseModel):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
