"""One settings object for the whole pipeline: environment variables and an optional TOML file.

Precedence, highest first: constructor arguments, environment variables (`STREAMING_<SECTION>__<FIELD>`,
plus the conventional `KAFKA_BOOTSTRAP_SERVERS`), the TOML file named by `STREAMING_CONFIG`
(default `streaming.toml` in the working directory, if present), then defaults.

>>> settings = Settings(topics={"prefix": "test."})
>>> settings.topic_name("sensor_readings")
'test.sensor-readings'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from streaming.config.alerts import AlertSettings, SubscriberSettings
from streaming.config.core import LoggingSettings, MetricsSettings, ProcessingSettings
from streaming.config.kafka import BrokerSettings, KafkaSettings, TopicSettings
from streaming.config.models import FraudSettings, MaintenanceSettings, ModelSettings, ThresholdSettings
from streaming.config.producers import ProducerSettings
from streaming.config.windows import WindowSettings

__all__ = [
    "AlertSettings",
    "BrokerSettings",
    "FraudSettings",
    "KafkaSettings",
    "LoggingSettings",
    "MaintenanceSettings",
    "MetricsSettings",
    "ModelSettings",
    "ProcessingSettings",
    "ProducerSettings",
    "Settings",
    "SubscriberSettings",
    "ThresholdSettings",
    "TopicSettings",
    "WindowSettings",
    "load_settings",
]

CONFIG_FILE_ENV = "STREAMING_CONFIG"
DEFAULT_CONFIG_FILE = Path("streaming.toml")


def _config_file() -> Path | None:
    named = os.environ.get(CONFIG_FILE_ENV)
    if named:
        path = Path(named)
        if not path.is_file():
            raise FileNotFoundError(f"{CONFIG_FILE_ENV}={named}: no such config file")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


class Settings(BaseSettings):
    """Every setting of every service. Sections mirror the TOML file's tables."""

    model_config = SettingsConfigDict(
        env_prefix="STREAMING_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    topics: TopicSettings = Field(default_factory=TopicSettings)
    processing: ProcessingSettings = Field(default_factory=ProcessingSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    producers: ProducerSettings = Field(default_factory=ProducerSettings)
    windows: WindowSettings = Field(default_factory=WindowSettings)
    maintenance: MaintenanceSettings = Field(default_factory=MaintenanceSettings)
    fraud: FraudSettings = Field(default_factory=FraudSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)

    @model_validator(mode="before")
    @classmethod
    def _conventional_bootstrap_variable(cls, data: Any) -> Any:
        """`KAFKA_BOOTSTRAP_SERVERS` is what Kafka tooling users set; honour it when nothing else did."""
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if bootstrap and isinstance(data, dict):
            kafka = data.setdefault("kafka", {})
            if isinstance(kafka, dict) and not kafka.get("bootstrap_servers"):
                kafka["bootstrap_servers"] = bootstrap
        return data

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = _config_file()
        if config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    def topic_name(self, logical_name: str) -> str:
        """The full topic name of a catalog entry, e.g. `sensor_readings` -> `<prefix>sensor-readings`."""
        return f"{self.topics.prefix}{getattr(self.topics, logical_name)}"


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
