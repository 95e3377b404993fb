"""Where a scorer's checkpoints live, without importing the scorer (service definitions need it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from consumers.learning.settings import ScorerSettings
from streaming.config import Settings


def checkpoint_directory(settings: Settings, config: ScorerSettings) -> Path:
    """`checkpoint_dir`, or `<processing.state_dir>/<topic prefix><group_id>`."""
    if config.checkpoint_dir is not None:
        return Path(config.checkpoint_dir)
    return Path(settings.processing.state_dir) / f"{settings.topics.prefix}{config.group_id}"


def scorer_checkpoints(section: str, model: type[ScorerSettings]) -> Callable[[Settings], Path]:
    """The checkpoint directory of the scorer whose settings are `[section]`."""
    return lambda settings: checkpoint_directory(settings, settings.section(section, model))
