"""The settings reference: every key with its TOML path, environment variable, default and meaning.

The README's configuration table is this module's output, and a test keeps the two identical.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from streaming.config import settings_class

START_MARKER = "<!-- settings-table:start -->"
END_MARKER = "<!-- settings-table:end -->"


def _default(field: FieldInfo) -> Any:
    if field.default is not PydanticUndefined:
        return field.default
    if field.default_factory is not None:
        return field.default_factory()  # type: ignore[call-arg]
    return None


def _model_type(annotation: Any) -> type[BaseModel] | None:
    candidates = getattr(annotation, "__args__", None) or (annotation,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _rows(model: type[BaseModel], path: list[str], instance: Any) -> Iterator[tuple[str, str, str, str]]:
    for name, field in model.model_fields.items():
        value = getattr(instance, name, None) if instance is not None else _default(field)
        nested = _model_type(field.annotation)
        if nested is not None and not isinstance(value, list):
            yield from _rows(nested, [*path, name], value if value is not None else None)
            continue
        toml_path = ".".join([*path, name])
        environment = "STREAMING_" + "__".join(part.upper() for part in [*path, name])
        if isinstance(value, BaseModel):
            shown = json.dumps(value.model_dump(mode="json"))
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            shown = json.dumps([item.model_dump(mode="json") for item in value])
        else:
            shown = json.dumps(value, default=str)
        # Defaults under the home directory are shown as ~ so the table does not depend on who made it.
        shown = shown.replace(str(Path.home()), "~")
        description = (field.description or "").replace("|", "\\|")
        yield toml_path, environment, shown, description


def _declared_rows(toml_path: str) -> Iterator[tuple[str, str, str, str]]:
    """One row per registered service's port and per catalog topic, under the maps that override them."""
    from streaming.services import registry

    services = registry()
    if toml_path == "metrics.ports":
        for name, service in sorted(services.services.items()):
            if service.metrics_port is not None:
                key = name.replace("-", "_")
                yield (
                    f"metrics.ports.{key}",
                    f"STREAMING_METRICS__PORTS__{key.upper()}",
                    str(service.metrics_port),
                    f"/metrics port of {name} ({service.description}).",
                )
    if toml_path == "topics.names":
        for logical, spec in sorted(services.topics.items()):
            description = spec.description.replace("|", "\\|")
            yield (
                f"topics.names.{logical}",
                f"STREAMING_TOPICS__NAMES__{logical.upper()}",
                json.dumps(spec.default_name),
                f"Topic (key: {spec.key}): {description}",
            )


def settings_table() -> str:
    """A Markdown table of every setting, in declaration order: the core's sections, then each registered
    service's, with one row per service port and catalog topic."""
    model = settings_class()
    defaults = model.model_construct()
    lines = ["| setting (TOML) | environment variable | default | meaning |", "|---|---|---|---|"]
    for row in _rows(model, [], defaults):
        for toml_path, environment, default, description in (row, *_declared_rows(row[0])):
            default_cell = default if len(default) <= 60 else default[:57] + "..."
            lines.append(f"| `{toml_path}` | `{environment}` | `{default_cell}` | {description} |")
    return "\n".join(lines)
