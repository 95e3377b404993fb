"""Kafka connection, broker and topic settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field


class KafkaSettings(BaseModel):
    """How clients reach Kafka. Security settings pass straight through to kafka-python."""

    bootstrap_servers: str | None = Field(
        default=None,
        description="Comma-separated host:port list of an external cluster. Unset: the local broker.",
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_plain_username: str | None = None
    sasl_plain_password: str | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_check_hostname: bool = True
    client_id_prefix: str = "streaming"
    request_timeout_ms: int = 30_000

    def client_options(self) -> dict[str, Any]:
        """Options common to every kafka-python client, without the bootstrap address."""
        options: dict[str, Any] = {
            "security_protocol": self.security_protocol,
            "request_timeout_ms": self.request_timeout_ms,
        }
        optional = {
            "sasl_mechanism": self.sasl_mechanism,
            "sasl_plain_username": self.sasl_plain_username,
            "sasl_plain_password": self.sasl_plain_password,
            "ssl_cafile": self.ssl_cafile,
            "ssl_certfile": self.ssl_certfile,
            "ssl_keyfile": self.ssl_keyfile,
        }
        options.update({name: value for name, value in optional.items() if value is not None})
        if self.security_protocol in ("SSL", "SASL_SSL"):
            options["ssl_check_hostname"] = self.ssl_check_hostname
        return options


def _default_broker_home() -> Path:
    return Path.home() / ".cache" / "streaming"


class BrokerSettings(BaseModel):
    """The embedded single-node Apache Kafka (KRaft) run from Maven-resolved jars."""

    kafka_version: str = "4.3.1"
    host: str = "127.0.0.1"
    port: int = 9092
    controller_port: int | None = Field(default=None, description="Defaults to port + 1.")
    home: Path = Field(default_factory=_default_broker_home, description="Jar cache and data root.")
    data_dir: Path | None = Field(default=None, description="Defaults to <home>/broker-<port>.")
    heap: str = "768m"
    default_partitions: int = 4
    auto_start: bool = Field(default=True, description="Start the local broker on demand.")
    start_timeout_seconds: float = 120.0

    def resolved_controller_port(self) -> int:
        return self.controller_port if self.controller_port is not None else self.port + 1

    def resolved_data_dir(self) -> Path:
        return self.data_dir if self.data_dir is not None else self.home / f"broker-{self.port}"

    def jar_dir(self) -> Path:
        return self.home / f"kafka-{self.kafka_version}" / "lib"


class TopicSettings(BaseModel):
    """Topic names. Every name gets `prefix` in front, so several pipelines can share a cluster."""

    prefix: str = ""
    partitions: int = 4
    replication_factor: int = 1
    sensor_readings: str = "sensor-readings"
    transactions: str = "transactions"
    labels: str = "labels"
    sensor_windows: str = "sensor-windows"
    scores: str = "scores"
    alerts: str = "alerts"
    late_events: str = "late-events"
    dead_letters: str = "dead-letters"
    alert_dead_letters: str = "alert-dead-letters"
    max_message_bytes: int = Field(default=1_048_576, description="Larger records are dead-lettered.")
