"""The one place the core learns which services exist.

Services are found through the `streaming.services` entry points of the installed packages (see
pyproject.toml), plus any `module:attribute` listed in `STREAMING_SERVICES` (comma-separated, for services
that are not installed as a package), plus those registered in-process with `register()`. An entry point
names a `Service` or a sequence of them.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel

from streaming.services.definition import Command, CommandGroup, ReplayFormat, ReplaySchema, Service
from streaming.topics import CORE_TOPICS, TopicSpec

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "streaming.services"
EXTRA_SERVICES_VARIABLE = "STREAMING_SERVICES"


class RegistryError(ValueError):
    """Two services declare the same thing differently (a topic, a settings section, a command)."""


def _resolve(reference: str) -> Any:
    module_name, _, attribute = reference.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


def resolve(reference: str) -> Any:
    """The object a `"module:attribute"` reference names (a command's `arguments` or `run`)."""
    return _resolve(reference)


def _as_services(value: Any, origin: str) -> list[Service]:
    items = list(value) if isinstance(value, list | tuple) else [value]
    for item in items:
        if not isinstance(item, Service):
            raise RegistryError(f"{origin} names {type(item).__name__}, not a streaming Service")
    return items


class Registry:
    """The services, checked for consistency, with what they declare merged.

    >>> widget = Service(name="widget", description="counts widgets", metrics_port=9199)
    >>> Registry([widget]).metrics_port("widget")
    9199
    """

    def __init__(self, services: Iterable[Service]) -> None:
        self.services: dict[str, Service] = {}
        for service in services:
            if service.name in self.services and self.services[service.name] is not service:
                raise RegistryError(f"two services are named {service.name!r}")
            self.services[service.name] = service
        self.topics = self._merge_topics()
        self.sections = self._merge_sections()
        self.commands = self._merge_commands()

    def _merge_topics(self) -> dict[str, TopicSpec]:
        topics: dict[str, TopicSpec] = {spec.logical_name: spec for spec in CORE_TOPICS}
        owners: dict[str, str] = {spec.logical_name: "the core" for spec in CORE_TOPICS}
        for service in self.services.values():
            for spec in service.topics:
                known = topics.get(spec.logical_name)
                if known is not None and known != spec:
                    raise RegistryError(
                        f"topic {spec.logical_name!r} is declared differently by {owners[spec.logical_name]} "
                        f"and {service.name}; declare it once (e.g. in contracts) and share the spec"
                    )
                topics[spec.logical_name] = spec
                owners.setdefault(spec.logical_name, service.name)
        return topics

    def _merge_sections(self) -> dict[str, type[BaseModel]]:
        sections: dict[str, type[BaseModel]] = {}
        for service in self.services.values():
            if service.settings is None:
                continue
            name = service.settings_section or service.name
            known = sections.get(name)
            if known is not None and known is not service.settings:
                raise RegistryError(
                    f"settings section [{name}] has two models: {known} and {service.settings}"
                )
            sections[name] = service.settings
        return sections

    def _merge_commands(self) -> dict[tuple[str, ...], Command]:
        commands: dict[tuple[str, ...], Command] = {}
        for service in self.services.values():
            for command in service.commands:
                if command.path in commands and commands[command.path] != command:
                    raise RegistryError(f"two services declare `{command.name}`")
                commands[command.path] = command
        return commands

    def groups(self) -> dict[tuple[str, ...], CommandGroup]:
        groups: dict[tuple[str, ...], CommandGroup] = {}
        for service in self.services.values():
            for group in service.groups:
                groups.setdefault(group.path, group)
        return groups

    def service(self, name: str) -> Service:
        try:
            return self.services[name]
        except KeyError:
            known = ", ".join(sorted(self.services)) or "none"
            raise KeyError(f"no service named {name!r} (known: {known})") from None

    def metrics_port(self, name: str) -> int | None:
        service = self.services.get(name)
        return service.metrics_port if service is not None else None

    def replay_schemas(self) -> dict[str, ReplaySchema]:
        schemas: dict[str, ReplaySchema] = {}
        for service in self.services.values():
            for schema in service.replay_schemas:
                if schema.name in schemas and schemas[schema.name] != schema:
                    raise RegistryError(f"two services declare the replay schema {schema.name!r} differently")
                schemas[schema.name] = schema
        return schemas

    def replay_formats(self) -> dict[str, ReplayFormat]:
        formats: dict[str, ReplayFormat] = {}
        for service in self.services.values():
            for log_format in service.replay_formats:
                if log_format.name in formats and formats[log_format.name] != log_format:
                    raise RegistryError(
                        f"two services declare the log format {log_format.name!r} differently"
                    )
                formats[log_format.name] = log_format
        return formats

    def alert_kinds(self) -> tuple[str, ...]:
        kinds: dict[str, None] = {}
        for service in self.services.values():
            kinds.update(dict.fromkeys(service.alert_kinds))
        return tuple(kinds)


_registered: dict[str, Service] = {}
_cached: Registry | None = None


def _discovered() -> Iterator[Service]:
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda item: item.name):
        try:
            yield from _as_services(entry.load(), f"entry point {entry.name} ({entry.value})")
        except RegistryError:
            raise
        except Exception as error:
            # One broken plugin must not take the whole command line (broker, topics...) down with it.
            print(f"streaming: service {entry.name} ({entry.value}) failed to load: {error}", file=sys.stderr)
    for reference in filter(
        None, (part.strip() for part in os.environ.get(EXTRA_SERVICES_VARIABLE, "").split(","))
    ):
        try:
            yield from _as_services(_resolve(reference), f"{EXTRA_SERVICES_VARIABLE} entry {reference}")
        except RegistryError:
            raise
        except Exception as error:
            print(
                f"streaming: service {reference} ({EXTRA_SERVICES_VARIABLE}) failed to load: {error}",
                file=sys.stderr,
            )


def registry() -> Registry:
    """The registry of every discovered and registered service (built once, rebuilt after `register`)."""
    global _cached
    if _cached is None:
        services = {service.name: service for service in _discovered()}
        services.update(_registered)
        _cached = Registry(services.values())
    return _cached


def register(service: Service) -> None:
    """Add a service in this process (tests, notebooks); installed packages use entry points instead."""
    global _cached
    _registered[service.name] = service
    _cached = None


def unregister(name: str) -> None:
    global _cached
    _registered.pop(name, None)
    _cached = None


@contextmanager
def registered(*services: Service) -> Iterator[Registry]:
    """Services registered for the duration of a `with` block."""
    for service in services:
        register(service)
    try:
        yield registry()
    finally:
        for service in services:
            unregister(service.name)
