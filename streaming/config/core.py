"""Settings of the stream-processing core and of the metrics endpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class ProcessingSettings(BaseModel):
    """The consume loop shared by every consumer."""

    processing_guarantee: Literal["exactly-once", "at-least-once"] = Field(
        default="exactly-once",
        description="Guarantee of changelog-state services: exactly-once (transactions) or at-least-once.",
    )
    max_poll_records: int = Field(default=5_000, description="Most records one consumer poll returns.")
    max_poll_interval_ms: int = Field(
        default=300_000, description="Longest gap between polls before the group evicts a member, in ms."
    )
    poll_timeout_ms: int = Field(
        default=100, description="How long one poll waits when no records are ready, in ms."
    )
    fetch_max_wait_ms: int = Field(
        default=50, description="How long the broker may hold a fetch to fill it, in ms; lower cuts latency."
    )
    session_timeout_ms: int = Field(
        default=10_000,
        description="Heartbeat silence after which the group drops a consumer and rebalances, in ms.",
    )
    heartbeat_interval_ms: int = Field(
        default=2_000,
        description="Consumer heartbeat period, in ms; keep it under a third of session_timeout_ms.",
    )
    commit_interval_ms: int = Field(default=200, description="Longest time between transaction commits.")
    commit_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Longest wait for outputs to be acknowledged and for a transaction to commit or abort; "
        "past it the transaction counts as failed, the producer is replaced and the work since the last "
        "commit is redone.",
    )
    auto_offset_reset: Literal["earliest", "latest"] = Field(
        default="earliest",
        description="Start of a group with no committed offsets: earliest (all data) or latest (new only).",
    )
    state_dir: Path = Field(
        default=Path(".streaming/state"),
        description="Where services keep local checkpoints, one directory per group.",
    )
    lag_refresh_seconds: float = Field(
        default=5.0, description="How often consumers refresh their consumer-lag metric, in wall seconds."
    )


class MetricsSettings(BaseModel):
    """Prometheus /metrics endpoints, one per service."""

    address: str = Field(default="127.0.0.1", description="Address every /metrics endpoint binds to.")
    enabled: bool = Field(
        default=True,
        description="Serve Prometheus /metrics from each service; --no-metrics turns it off for one run.",
    )
    ports: dict[str, int] = Field(
        default_factory=dict,
        description='Per-service /metrics port overrides, e.g. {"alerts": 9206}; 0 picks a free port.',
    )
    pushgateway: str | None = Field(
        default=None,
        description="host:port of the Prometheus Pushgateway that batch jobs push their metrics to; unset: "
        "they push nothing.",
    )

    def port_for(self, service: str) -> int:
        """The service's port: an override here, else the one its definition declares."""
        # Keys are written with underscores where service names have hyphens (environment variables).
        for key in (service, service.replace("-", "_")):
            if key in self.ports:
                return self.ports[key]
        from streaming.services import registry

        port = registry().metrics_port(service)
        if port is None:
            raise KeyError(f"service {service!r} declares no metrics port; set metrics.ports.{service}")
        return port


class LoggingSettings(BaseModel):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log level of every command; --log-level overrides it."
    )
