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
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT",
        description="Protocol to the brokers; the SSL and SASL ones use the ssl_* and sasl_* settings.",
    )
    sasl_mechanism: str | None = Field(
        default=None,
        description="SASL mechanism (e.g. PLAIN, SCRAM-SHA-512) for SASL_* protocols. Unset: not sent.",
    )
    sasl_plain_username: str | None = Field(
        default=None, description="SASL username (PLAIN and SCRAM mechanisms). Unset: not sent."
    )
    sasl_plain_password: str | None = Field(
        default=None,
        description="SASL password (PLAIN and SCRAM); prefer the environment variable to the file.",
    )
    ssl_cafile: str | None = Field(
        default=None,
        description="CA bundle (PEM) that verifies the brokers' certificates; SSL and SASL_SSL only.",
    )
    ssl_certfile: str | None = Field(
        default=None, description="Client certificate (PEM) for mutual TLS; SSL and SASL_SSL only."
    )
    ssl_keyfile: str | None = Field(
        default=None, description="Private key (PEM) of ssl_certfile; SSL and SASL_SSL only."
    )
    ssl_check_hostname: bool = Field(
        default=True,
        description="Check that broker certificates match their host names; SSL and SASL_SSL only.",
    )
    client_id_prefix: str = Field(
        default="streaming",
        description="Start of every Kafka client id (<prefix>-<role>-<host>-<pid>), seen in broker logs.",
    )
    linger_ms: int = Field(
        default=5,
        description="How long a producer waits to fill a batch, in ms (transactional outputs use 1 ms).",
    )
    batch_size: int = Field(default=262_144, description="Largest producer batch per partition, in bytes.")
    compression_type: str | None = Field(
        default=None,
        description="Producer compression: gzip, snappy, lz4 or zstd (some need extra packages). Unset: off.",
    )
    request_timeout_ms: int = Field(
        default=30_000,
        description="How long a client waits for a broker response before retrying or failing, in ms.",
    )

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

    kafka_version: str = Field(
        default="4.3.1", description="Apache Kafka release whose jars the local broker fetches and runs."
    )
    host: str = Field(default="127.0.0.1", description="Address the local broker listens on and advertises.")
    port: int = Field(default=9092, description="Client port of the local broker.")
    controller_port: int | None = Field(default=None, description="Defaults to port + 1.")
    home: Path = Field(default_factory=_default_broker_home, description="Jar cache and data root.")
    data_dir: Path | None = Field(default=None, description="Defaults to <home>/broker-<port>.")
    heap: str = Field(default="768m", description="Java heap of the local broker (-Xmx), like 768m or 2g.")
    default_partitions: int = Field(
        default=4, description="Partitions of topics the local broker auto-creates (num.partitions)."
    )
    auto_start: bool = Field(default=True, description="Start the local broker on demand.")
    start_timeout_seconds: float = Field(
        default=120.0,
        description="Wall seconds to wait for a starting local broker to answer before failing.",
    )

    def resolved_controller_port(self) -> int:
        return self.controller_port if self.controller_port is not None else self.port + 1

    def resolved_data_dir(self) -> Path:
        return self.data_dir if self.data_dir is not None else self.home / f"broker-{self.port}"

    def jar_dir(self) -> Path:
        return self.home / f"kafka-{self.kafka_version}" / "lib"


class TopicSettings(BaseModel):
    """Topic names. Every name gets `prefix` in front, so several pipelines can share a cluster."""

    prefix: str = Field(
        default="",
        description="Put before every topic, group and changelog name, so pipelines can share a cluster.",
    )
    partitions: int = Field(
        default=4, description="Partitions of each topic the pipeline creates; existing topics keep theirs."
    )
    replication_factor: int = Field(
        default=1, description="Replicas of each topic the pipeline creates; at most the number of brokers."
    )
    names: dict[str, str] = Field(
        default_factory=dict,
        description='Topic renames by catalog name, e.g. {"late_events": "late"}; see the catalog.',
    )
    max_message_bytes: int = Field(default=1_048_576, description="Larger records are dead-lettered.")
