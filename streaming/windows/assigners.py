"""Which event-time windows an event belongs to."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HoppingWindows:
    """Windows of `size` seconds starting every `step` seconds, aligned to the epoch: `[start, start + size)`.

    An event belongs to `ceil(size / step)` windows (when step divides size). Tumbling windows are hopping
    windows whose step equals their size.

    >>> windows = HoppingWindows(size=10.0, step=5.0)
    >>> index, starts = windows.assign(np.array([12.0]))
    >>> sorted(starts.tolist())
    [5.0, 10.0]
    """

    size: float
    step: float

    def __post_init__(self) -> None:
        if self.size <= 0 or self.step <= 0:
            raise ValueError("window size and step must be positive")
        if self.step > self.size:
            raise ValueError("a step larger than the size would leave gaps between windows")

    @property
    def windows_per_event(self) -> int:
        return math.ceil(self.size / self.step)

    def assign(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each (event, window) pair: the event's index and the window's start."""
        latest_start = np.floor(times / self.step) * self.step
        indexes = []
        starts = []
        for hop in range(self.windows_per_event):
            start = latest_start - hop * self.step
            inside = start + self.size > times
            indexes.append(np.nonzero(inside)[0])
            starts.append(start[inside])
        if len(indexes) == 1:
            return indexes[0], starts[0]
        return np.concatenate(indexes), np.concatenate(starts)


class TumblingWindows(HoppingWindows):
    """Back-to-back windows of `size` seconds: each event belongs to exactly one.

    >>> TumblingWindows(10.0).assign(np.array([3.0, 17.5]))[1].tolist()
    [0.0, 10.0]
    """

    def __init__(self, size: float) -> None:
        super().__init__(size=size, step=size)
