"""What the window aggregator reads from its input events: per event (`Columns`), or for a whole polled
batch at once as numpy arrays (`ColumnBatch`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Columns:
    """What the aggregator needs from one input event: its key, reading times and values, attributes."""

    key: str
    times: Sequence[float]
    values: dict[str, Sequence[float]]
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class ColumnBatch:
    """The readings of consecutive input events, reading after reading.

    Parameters
    ----------
    keys
        Each event's key.
    counts
        Each event's number of readings, (n_events,).
    times
        Every reading's event time, (n_readings,): the first event's readings, then the second's...
    values
        Every reading's fields, (n_readings, n_fields).
    attributes
        Each event's attributes.

    >>> batch = ColumnBatch.from_columns(
    ...     [Columns("m-1", [1.0, 2.0], {"torque": [5.0, 6.0]}), Columns("m-2", [1.5], {"torque": [7.0]})],
    ...     ["torque"])
    >>> batch.counts.tolist(), batch.values[:, 0].tolist(), batch.select([1]).keys
    ([2, 1], [5.0, 6.0, 7.0], ['m-2'])
    """

    keys: list[str]
    counts: np.ndarray
    times: np.ndarray
    values: np.ndarray
    attributes: list[dict[str, str]]

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def offsets(self) -> np.ndarray:
        """Where each event's readings start, and the end: (n_events + 1,)."""
        return np.concatenate(([0], np.cumsum(self.counts)))

    @classmethod
    def from_columns(cls, extracted: Sequence[Columns], fields: Sequence[str]) -> ColumnBatch:
        counts = np.fromiter((len(columns.times) for columns in extracted), np.int64, len(extracted))
        total = int(counts.sum())
        times = np.fromiter((t for columns in extracted for t in columns.times), np.float64, total)
        values = np.empty((total, len(fields)), dtype=np.float64)
        for field_index, name in enumerate(fields):
            values[:, field_index] = np.fromiter(
                (v for columns in extracted for v in columns.values[name]), np.float64, total
            )
        return cls(
            [columns.key for columns in extracted],
            counts,
            times,
            values,
            [columns.attributes for columns in extracted],
        )

    def select(self, events: Sequence[int]) -> ColumnBatch:
        """Only some events (indexes in order)."""
        offsets = self.offsets
        chosen = np.asarray(events, dtype=np.int64)
        readings = np.concatenate(
            [np.arange(offsets[event], offsets[event + 1]) for event in chosen.tolist()]
            or [np.empty(0, dtype=np.int64)]
        )
        return ColumnBatch(
            [self.keys[event] for event in chosen.tolist()],
            self.counts[chosen],
            self.times[readings],
            self.values[readings],
            [self.attributes[event] for event in chosen.tolist()],
        )


#: `extract(event) -> Columns`: one event's key, readings and attributes.
ColumnExtractor = Callable[[Any], Columns]
#: `extract_batch(events, fields) -> ColumnBatch`: the same for many events at once, as arrays.
BatchExtractor = Callable[[Sequence[Any], Sequence[str]], ColumnBatch]
