"""Window aggregates: the downsampled sensor stream."""

from __future__ import annotations

from typing import Literal

from streaming.schemas.base import EntityId, Event, EventTime
from streaming.state.stable import stable


@stable("streaming.window-aggregate/1")
class WindowAggregate(Event, kw_only=True, frozen=True):
    """Aggregates of one key's readings over one event-time window `[window_start, window_end)`.

    `aggregates` maps a field to its statistics: count, mean, min, max, std, first, last, slope (units per
    second) and the approximate quantile named `p95` (or whichever quantile is configured).

    >>> w = WindowAggregate(key="m-1", window_start=1.7e9, window_end=1.7e9 + 10, count=10,
    ...     aggregates={"torque_nm": {"mean": 40.0}}, closed_by="watermark", attributes={"site": "A"})
    >>> w.window_id
    'm-1@1700000000.000'
    """

    key: EntityId
    window_start: EventTime
    window_end: EventTime
    count: int
    aggregates: dict[str, dict[str, float]]
    closed_by: Literal["watermark", "idle"]
    attributes: dict[str, str] = {}
    emitted_at: float = 0.0

    @property
    def window_id(self) -> str:
        return f"{self.key}@{self.window_start:.3f}"

    def entity_key(self) -> str:
        return self.key

    def features(self) -> dict[str, float]:
        """Flat `field_statistic` features, e.g. `torque_nm_mean`."""
        return {
            f"{field}_{statistic}": value
            for field, statistics in self.aggregates.items()
            for statistic, value in statistics.items()
        }
