"""One settings object for the whole pipeline: environment variables and an optional TOML file.

Precedence, highest first: constructor arguments, environment variables (`STREAMING_<SECTION>__<FIELD>`,
plus the conventional `KAFKA_BOOTSTRAP_SERVERS`), the TOML file named by `STREAMING_CONFIG`
(default `streaming.toml` in the working directory, if present), then defaults.

The core's own sections are fixed (kafka, broker, topics, processing, metrics, logging); every registered
service adds its own section (see `streaming.services`), so `Settings()` is always the full table.

>>> settings = Settings(topics={"prefix": "test."})
>>> settings.topic_name("dead_letters")
'test.dead-letters'
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Field, create_model, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from streaming.config.core import LoggingSettings, MetricsSettings, ProcessingSettings
from streaming.config.kafka import BrokerSettings, KafkaSettings, TopicSettings

__all__ = [
    "BrokerSettings",
    "KafkaSettings",
    "LoggingSettings",
    "MetricsSettings",
    "ProcessingSettings",
    "Settings",
    "TopicSettings",
    "settings_class",
]

CONFIG_FILE_ENV = "STREAMING_CONFIG"
DEFAULT_CONFIG_FILE = Path("streaming.toml")

SectionT = TypeVar("SectionT", bound=BaseModel)


def _config_file() -> Path | None:
    named = os.environ.get(CONFIG_FILE_ENV)
    if named:
        path = Path(named)
        if not path.is_file():
            raise FileNotFoundError(f"{CONFIG_FILE_ENV}={named}: no such config file")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


class Settings(BaseSettings):
    """Every setting of the core and of every registered service. Sections mirror the TOML file's tables.

    `Settings(...)` builds the class that has a section per registered service (see `settings_class`), so
    `settings.section("windows", WindowSettings)` works for any service the registry knows.
    """

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

    def __new__(cls, *args: Any, **kwargs: Any) -> Settings:
        # The plain class has only the core's sections; what gets built is the class with every registered
        # service's section too. Python then runs that class's __init__ with the same arguments.
        target = settings_class() if cls is Settings else cls
        return super().__new__(target)

    def __reduce__(self) -> Any:
        return (_rebuild, (self.model_dump(),))

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

    def section(self, name: str, model: type[SectionT]) -> SectionT:
        """A service's section, typed: `settings.section("windows", WindowSettings)`."""
        value = getattr(self, name, None)
        if not isinstance(value, model):
            raise KeyError(
                f"no settings section [{name}] of type {model.__name__}: is its service registered?"
            )
        return value

    def with_section(self, name: str, value: BaseModel) -> Settings:
        """A copy with one section replaced (command-line overrides)."""
        return self.model_copy(update={name: value})

    def topic_name(self, logical_name: str) -> str:
        """The full name of a catalog topic, e.g. `dead_letters` -> `<prefix>dead-letters`."""
        from streaming.services import registry

        renamed = self.topics.names.get(logical_name)
        if renamed is not None:
            return f"{self.topics.prefix}{renamed}"
        spec = registry().topics.get(logical_name)
        if spec is None:
            known = ", ".join(sorted(registry().topics))
            raise KeyError(f"no topic {logical_name!r} in the catalog (known: {known})")
        return f"{self.topics.prefix}{spec.default_name}"


@functools.cache
def _settings_class(sections: tuple[tuple[str, type[BaseModel]], ...]) -> type[Settings]:
    fields: dict[str, Any] = {
        name: (model, Field(default_factory=model, description=(model.__doc__ or "").strip().split("\n")[0]))
        for name, model in sections
    }
    built: type[Settings] = create_model("Settings", __base__=Settings, __module__=__name__, **fields)
    return built


def settings_class() -> type[Settings]:
    """The settings class with a section per registered service (built once per set of services)."""
    from streaming.services import registry

    return _settings_class(tuple(sorted(registry().sections.items())))


def _rebuild(data: dict[str, Any]) -> Settings:
    return settings_class().model_validate(data)
